using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MedSeg.Web.Features.Users;

public static class UsersApi
{
    public static IServiceCollection AddUsersFeature(this IServiceCollection services)
    {
        services.AddScoped<UserService>();
        return services;
    }

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/users").WithTags("Users");
        api.MapGet("/", List);
        api.MapGet("/me", Me);
        api.MapPost("/", Create).RequireAuthorization(Account.AccountServiceExtensions.AdminPolicy);
        api.MapPatch("/{id}", Update);
        api.MapPost("/{id}/password", Password);
        return app;
    }

    /// <summary>Admins: every user with every field. Others: the directory of active users (id, email, name, role) to share with.</summary>
    public static async Task<Ok<IReadOnlyList<UserView>>> List(HttpContext http, UserService users, CancellationToken ct) =>
        TypedResults.Ok(await users.ListAsync(UserContext.From(http.User), ct));

    public static async Task<Results<Ok<UserView>, NotFound>> Me(HttpContext http, UserService users, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        return await users.GetAsync(user.UserId, user, ct) is { } view ? TypedResults.Ok(view) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<CreatedUser>, ValidationProblem, ProblemHttpResult, NotFound>> Create(
        CreateUserRequest request, HttpContext http, UserService users, CancellationToken ct) =>
        await users.CreateAsync(request, UserContext.From(http.User), ct) switch
        {
            UserResult.Done d => TypedResults.Created($"/api/users/{d.User.Id}", new CreatedUser(d.User, d.Password)),
            var other => Refusal<Created<CreatedUser>>(other),
        };

    public static async Task<Results<Ok<UserView>, ValidationProblem, ProblemHttpResult, NotFound>> Update(
        string id, UpdateUserRequest request, HttpContext http, UserService users, CancellationToken ct) =>
        await users.UpdateAsync(id, request, UserContext.From(http.User), ct) switch
        {
            UserResult.Done d => TypedResults.Ok(d.User),
            var other => Refusal<Ok<UserView>>(other),
        };

    /// <summary>Answers <c>{user, password}</c>: the generated password once when an admin reset without choosing one, else null.</summary>
    public static async Task<Results<Ok<PasswordSet>, ValidationProblem, ProblemHttpResult, NotFound>> Password(
        string id, PasswordRequest request, HttpContext http, UserService users, CancellationToken ct) =>
        await users.SetPasswordAsync(id, request, UserContext.From(http.User), ct) switch
        {
            UserResult.Done d => TypedResults.Ok(new PasswordSet(d.User, d.Password)),
            var other => Refusal<Ok<PasswordSet>>(other),
        };

    private static Results<T, ValidationProblem, ProblemHttpResult, NotFound> Refusal<T>(UserResult result) where T : IResult => result switch
    {
        UserResult.Invalid i => TypedResults.ValidationProblem(new Dictionary<string, string[]> { [i.Field] = [i.Message] }),
        UserResult.Forbidden f => TypedResults.Problem(f.Message, statusCode: StatusCodes.Status403Forbidden, title: "Not allowed"),
        _ => TypedResults.NotFound(),
    };
}
