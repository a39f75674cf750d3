using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace MedSeg.Web.Features.Shared;

/// <summary>Base for pages that call feature services: gives them the signed-in <see cref="UserContext"/>.</summary>
public abstract class MedSegPage : ComponentBase
{
    [CascadingParameter] private Task<AuthenticationState>? AuthenticationState { get; set; }

    [Inject] private AuthenticationStateProvider AuthenticationStateProvider { get; set; } = default!;

    private UserContext? user;

    protected async Task<UserContext> GetUserAsync()
    {
        if (user is not null) return user;
        var state = AuthenticationState is not null
            ? await AuthenticationState
            : await AuthenticationStateProvider.GetAuthenticationStateAsync();
        return user = UserContext.From(state.User);
    }

    /// <summary>A short, honest sentence for an error shown on a page.</summary>
    protected static string Describe(Exception ex) => ex switch
    {
        NotSupportedException => "This part of the server is not available yet.",
        OperationCanceledException => "The request was cancelled.",
        _ => ex.Message,
    };
}
