using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CallMesh.Silo.Api;

public static class HealthApi
{
    public const string ReadyTag = "ready";

    /// <summary>
    /// /health/live checks only this process (a restart would not fix a database outage);
    /// /health/ready also checks cluster membership and the database.
    /// </summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = Write });
        routes.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = Write });
        // The cheapest answer a silo gives through the gateway: the ceiling the benchmark compares with.
        routes.MapGet("/v1/ping", static () => TypedResults.Text("pong")).Produces<string>(StatusCodes.Status200OK, "text/plain").WithTags("Health").WithSummary("Answers pong; no grain, no database.");
        return routes;
    }

    private static Task Write(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description }),
        }));
    }
}
