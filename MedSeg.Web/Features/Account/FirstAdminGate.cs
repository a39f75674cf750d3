using System.Data;
using System.Data.Common;
using MedSeg.Data;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Account;

/// <summary>
/// Creating the first admin is a check ("no user exists yet") followed by a write, and two requests to <c>/setup</c> (or a
/// request and the start-up bootstrap) can race between the two. Within this process one creation at a time passes the
/// semaphore; across processes sharing the database, the check and the creation run in one serializable transaction
/// (SQLite: <c>BEGIN IMMEDIATE</c>, so a second writer waits; SQL Server: range locks, so the second of two racing
/// transactions is chosen as a deadlock victim). The loser is refused with <see cref="AlreadyExists"/>.
/// </summary>
public static class FirstAdminGate
{
    public const string AlreadyExists =
        "An account already exists: the first admin has just been created (by another request). Sign in instead; " +
        "further accounts are made by that admin.";

    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Runs <paramref name="create"/> only when no user exists, atomically; returns its problems, or
    /// <see cref="AlreadyExists"/> when a user exists (or appeared while racing).</summary>
    public static async Task<IReadOnlyList<string>> CreateAsync(MedSegDbContext db, Func<Task<IReadOnlyList<string>>> create,
        CancellationToken ct = default)
    {
        await Gate.WaitAsync(ct);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(IsolationLevel.Serializable, ct);
            if (await db.Users.AnyAsync(ct)) return [AlreadyExists];
            var problems = await create();
            if (problems.Count > 0) return problems; // rolled back when the transaction is disposed
            await transaction.CommitAsync(ct);
            return [];
        }
        catch (Exception e) when (e is DbException or DbUpdateException)
        {
            // Another node won the race (SQL Server's deadlock victim, a unique-key violation): nothing of ours was committed.
            db.ChangeTracker.Clear();
            if (await db.Users.AnyAsync(CancellationToken.None)) return [AlreadyExists];
            throw;
        }
        finally
        {
            Gate.Release();
        }
    }
}
