using System.Text.Json;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>An unexpected exception answers 500 with problem details (APIs) or a page (UI), never an empty body or a server path.</summary>
public sealed class ErrorHandlingTests
{
    private static async Task<(int Status, string ContentType, string Body)> HandleAsync(string path)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        var exception = new IOException("Could not find file '/srv/medseg/data/experiments/secret/run.json'.");
        context.Features.Set<IExceptionHandlerPathFeature>(new ExceptionHandlerFeature { Error = exception, Path = path });
        await ErrorHandling.WriteAsync(context);
        context.Response.Body.Position = 0;
        return (context.Response.StatusCode, context.Response.ContentType ?? "", await new StreamReader(context.Response.Body).ReadToEndAsync());
    }

    [Fact]
    public async Task ApiExceptionIsAProblemWithATraceIdAndNoServerPath()
    {
        var (status, type, body) = await HandleAsync("/api/experiments");
        Assert.Equal(500, status);
        Assert.Contains("application/problem+json", type);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal("Internal server error", problem.GetProperty("title").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        Assert.DoesNotContain("/srv/medseg", body);
    }

    [Fact]
    public async Task UiExceptionIsAPageWithATraceIdAndNoServerPath()
    {
        var (status, type, body) = await HandleAsync("/experiments");
        Assert.Equal(500, status);
        Assert.StartsWith("text/html", type);
        Assert.Contains("Something went wrong", body);
        Assert.DoesNotContain("/srv/medseg", body);
    }

    [Fact]
    public async Task MalformedJsonIsABadRequestProblemNotAServerError()
    {
        using var factory = new MedSeg.Web.Tests.Support.MedSegAppFactory();
        var client = factory.CreateClient();
        var response = await client.PostAsync("/api/tokens", new StringContent("{\"email\": oops", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("could not be read", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnknownPageOfASignedInUserShowsTheNotFoundPage()
    {
        using var factory = new MedSeg.Web.Tests.Support.MedSegAppFactory();
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.GetAsync("/no/such/page");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("There is nothing at this address", await response.Content.ReadAsStringAsync());
        var forbidden = await client.GetAsync("/not-found?status=403");
        Assert.Contains("Not allowed", await forbidden.Content.ReadAsStringAsync());
    }
}
