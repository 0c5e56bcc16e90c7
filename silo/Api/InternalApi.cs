using System.Security.Cryptography;
using System.Text;
using CallMesh.Calls;
using CallMesh.Silo.Calls;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// What only the gateway asks, with the deployment's internal key (CALLMESH_INTERNAL_KEY, shared by the silos and the
/// gateway) in X-CallMesh-Internal-Key: the routing facts for its fail-safe answers, and the calls it answered alone
/// while no silo could, to be recorded. The gateway routes no /internal path from outside; without the key, or with
/// none configured, these answer 404 like any unknown path.
/// </summary>
public static class InternalApi
{
    public const string KeyHeader = "X-CallMesh-Internal-Key";

    /// <summary>A call the gateway answered from its own copy of the routing facts (its fail-safe URL).</summary>
    public sealed record FallbackCall(string TenantId, string CallId, InboundCall Start, CallRouting Routing);

    public static RouteGroupBuilder MapInternalApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/internal").ExcludeFromDescription().AddEndpointFilter(async (context, next) =>
            Authorized(context.HttpContext) ? await next(context) : Results.NotFound());

        // Tens of thousands of numbers make megabytes: the gateway's copy is sent again only when its version moved.
        group.MapGet("/routing", Routing);
        group.MapPost("/fallback-calls", RecordFallbackCalls);
        return group;
    }

    public static Results<JsonHttpResult<RoutingData>, StatusCodeHttpResult, ProblemHttpResult> Routing(RoutingSnapshot snapshot, HttpContext http)
    {
        if (snapshot.Current is not { } data)
            return Problems.Problem(StatusCodes.Status503ServiceUnavailable, ProblemResponses.TemporarilyUnavailable, "This silo has no routing snapshot yet.");
        var etag = $"\"{data.Version}\"";
        http.Response.Headers.ETag = etag;
        return http.Request.Headers.IfNoneMatch.ToString() == etag ? TypedResults.StatusCode(StatusCodes.Status304NotModified) : TypedResults.Json(data);
    }

    /// <summary>Journaled like a call the silo answered itself, then recorded behind the answer; a call already known is left as it is.</summary>
    public static async Task<NoContent> RecordFallbackCalls(List<FallbackCall> calls, CallJournal journal)
    {
        await Task.WhenAll(calls.Select(c => journal.AppendStartAsync(c.TenantId, c.CallId, c.Start, c.Routing)));
        return TypedResults.NoContent();
    }

    /// <summary>Did the gateway send this (or is there no internal key to tell by)? Asked on every DNI request.</summary>
    public static bool FromGateway(HttpContext http) => Expected(http).Length == 0 || Authorized(http);

    private static bool Authorized(HttpContext http)
    {
        var expected = Expected(http);
        var given = http.Request.Headers[KeyHeader].ToString();
        Span<byte> bytes = stackalloc byte[256];
        return expected.Length > 0 && Encoding.UTF8.GetByteCount(given) <= bytes.Length
               && CryptographicOperations.FixedTimeEquals(expected, bytes[..Encoding.UTF8.GetBytes(given, bytes)]);
    }

    // The process's configuration does not change: its key is read and encoded once, not on each request.
    private static byte[]? _expected;

    private static byte[] Expected(HttpContext http) =>
        _expected ??= Encoding.UTF8.GetBytes(http.RequestServices.GetRequiredService<IConfiguration>()["INTERNAL_KEY"] ?? "");
}
