using CallMesh.Gateway.Assets;

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

    private static readonly Dictionary<string, EmbeddedAsset> Scripts =
        Versions.ToDictionary(v => v, v => EmbeddedAsset.Load($"dni/{v}.js", "text/javascript; charset=utf-8"));

    private static string IntegrityOf(string version) => "sha384-" + Convert.ToBase64String(Scripts[version].Sha384);

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
            versions = Scripts.Keys.ToDictionary(v => v, v => new { src = $"/dni/{v}.js", integrity = IntegrityOf(v) }),
        }));
        return routes;
    }

    private static IResult Serve(HttpContext http, EmbeddedAsset script, string cacheControl)
    {
        http.Response.Headers.AccessControlAllowOrigin = "*";   // lets sites load it with integrity= and crossorigin=anonymous
        return script.Serve(http, cacheControl);
    }
}
