using System.Security.Cryptography;
using MedSeg.Data.Entities;
using Microsoft.AspNetCore.Identity;

namespace MedSeg.Web.Features.Account;

/// <summary>
/// Makes a sign-in with an unknown email cost what a known email with a wrong password costs: the password is still
/// verified, against a fixed dummy hash made by the same hasher (same algorithm and iteration count), so the answer's timing
/// does not tell which emails have accounts.
/// </summary>
public sealed class SignInTiming(IPasswordHasher<ApplicationUser> hasher)
{
    private static readonly ApplicationUser Nobody = new() { UserName = "(nobody)" };
    private static string? dummyHash;

    /// <summary>Verifies <paramref name="password"/> against the dummy hash; the result is always "wrong".</summary>
    public void VerifyForUnknownUser(string password)
    {
        // Made once per process by this hasher (a random password nobody knows), so its cost matches real users' hashes.
        dummyHash ??= hasher.HashPassword(Nobody, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        hasher.VerifyHashedPassword(Nobody, dummyHash, password);
    }
}
