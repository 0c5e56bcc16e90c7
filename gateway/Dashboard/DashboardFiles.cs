using CallMesh.Gateway.Assets;

namespace CallMesh.Gateway.Dashboard;

/// <summary>
/// The dashboard: static HTML, CSS and plain JavaScript that read the tenant APIs with the signed-in user's token,
/// so the silo's scope rules decide what it shows (a location manager's report and calls are its own locations').
/// The CSP allows only these files and calls to this gateway: call data carries visitor-controlled text (UTM
/// campaigns, keywords), and the page writes it as text, never as HTML.
/// </summary>
public static class DashboardFiles
{
    private const string Prefix = "dashboard/";

    private static readonly Dictionary<string, EmbeddedAsset> Files = typeof(DashboardFiles).Assembly.GetManifestResourceNames()
        .Where(name => name.StartsWith(Prefix, StringComparison.Ordinal))
        .ToDictionary(name => name[Prefix.Length..], name => EmbeddedAsset.Load(name, ContentTypeOf(name)), StringComparer.Ordinal);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder routes)
    {
        // Routing matches "/dashboard" here too; the page's relative links need the trailing slash.
        routes.MapGet("/dashboard/{file?}", (string? file, HttpContext http) =>
            file is null && !http.Request.Path.Value!.EndsWith('/') ? Results.Redirect("/dashboard/")
            : Files.TryGetValue(file ?? "index.html", out var asset) ? Serve(http, asset)
            : Results.NotFound());
        return routes;
    }

    private static IResult Serve(HttpContext http, EmbeddedAsset asset)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
                                        // Recordings play from the carrier's HTTPS address.
                                        "media-src https:; " +
                                        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
        headers["Referrer-Policy"] = "no-referrer";
        // Revalidated on every load, so a new gateway's dashboard is picked up at once.
        return asset.Serve(http, "no-cache");
    }

    private static string ContentTypeOf(string resource) => Path.GetExtension(resource) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",   // the tab's icon (without one the browser asks for /favicon.ico, a 404)
        ".txt" => "text/plain; charset=utf-8",   // the vendored libraries' licences
        var other => throw new InvalidOperationException($"The dashboard has a file of unknown type: {resource} ({other})"),
    };
}
