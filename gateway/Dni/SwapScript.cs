using System.Security.Cryptography;
using System.Text;
using Microsoft.Net.Http.Headers;

namespace CallMesh.Gateway.Dni;

/// <summary>
/// Serves the swap script: /dni/v{n}.js is immutable (cached for a year, pinned with its SRI hash
/// from /dni/versions.json); /dni.js is the latest version with a short cache, for sites that
/// prefer updates to pinning. A published version's file never changes: changes make a new version.
/// </summary>
public static class SwapScript
{
    public const string Latest = "v1";
    private static readonly string[] Versions = ["v1"];

    private sealed record Script(byte[] Body, string ETag, string Integrity);

    private static readonly Dictionary<string, Script> Scripts = Versions.ToDictionary(v => v, Load);

    public static string IntegrityOf(string version) => Scripts[version].Integrity;

    public static IEndpointRouteBuilder MapSwapScript(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/dni.js", (HttpContext http) => Serve(http, Scripts[Latest], "public, max-age=300"));
        routes.MapGet("/dni/{version:regex(^v\\d+$)}.js", (string version, HttpContext http) =>
            Scripts.TryGetValue(version, out var script)
                ? Serve(http, script, "public, max-age=31536000, immutable")
                : Results.NotFound());
        routes.MapGet("/dni/versions.json", () => Results.Json(new
        {
            latest = Latest,
            versions = Scripts.ToDictionary(s => s.Key, s => new { src = $"/dni/{s.Key}.js", integrity = s.Value.Integrity }),
        }));
        return routes;
    }

    private static IResult Serve(HttpContext http, Script script, string cacheControl)
    {
        var headers = http.Response.Headers;
        headers.CacheControl = cacheControl;
        headers.ETag = script.ETag;
        headers.AccessControlAllowOrigin = "*";   // lets sites load it with integrity= and crossorigin=anonymous
        headers["X-Content-Type-Options"] = "nosniff";
        if (http.Request.Headers.IfNoneMatch.ToString() == script.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(script.Body, "text/javascript; charset=utf-8");
    }

    private static Script Load(string version)
    {
        using var stream = typeof(SwapScript).Assembly.GetManifestResourceStream($"dni/{version}.js")
            ?? throw new InvalidOperationException($"dni/{version}.js is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var body = copy.ToArray();
        var hash = SHA384.HashData(body);
        return new Script(body, $"\"{Convert.ToHexString(hash)[..16]}\"", "sha384-" + Convert.ToBase64String(hash));
    }
}
