using System.Security.Cryptography;

namespace CallMesh.Gateway.Dashboard;

/// <summary>
/// The dashboard: static HTML, CSS and plain JavaScript that read the tenant APIs with the signed-in user's token,
/// so the silo's scope rules decide what it shows (a location manager's report and calls are its own locations').
/// Served from memory, as the swap script is. The CSP allows only these files and calls to this gateway: call data
/// carries visitor-controlled text (UTM campaigns, keywords), and the page writes it as text, never as HTML.
/// </summary>
public static class DashboardFiles
{
    private const string Prefix = "dashboard/";

    private sealed record Asset(byte[] Body, string ContentType, string ETag);

    private static readonly Dictionary<string, Asset> Assets = typeof(DashboardFiles).Assembly.GetManifestResourceNames()
        .Where(name => name.StartsWith(Prefix, StringComparison.Ordinal))
        .ToDictionary(name => name[Prefix.Length..], Load, StringComparer.Ordinal);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder routes)
    {
        // Routing matches "/dashboard" here too; the page's relative links need the trailing slash.
        routes.MapGet("/dashboard/{file?}", (string? file, HttpContext http) =>
            file is null && !http.Request.Path.Value!.EndsWith('/') ? Results.Redirect("/dashboard/")
            : Assets.TryGetValue(file ?? "index.html", out var asset) ? Serve(http, asset)
            : Results.NotFound());
        return routes;
    }

    private static IResult Serve(HttpContext http, Asset asset)
    {
        var headers = http.Response.Headers;
        // Revalidated on every load, so a new gateway's dashboard is picked up at once; an unchanged file is a 304.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
                                        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        if (http.Request.Headers.IfNoneMatch.ToString() == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Body, asset.ContentType);
    }

    private static Asset Load(string resource)
    {
        using var stream = typeof(DashboardFiles).Assembly.GetManifestResourceStream(resource)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var body = copy.ToArray();
        var contentType = Path.GetExtension(resource) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            var other => throw new InvalidOperationException($"The dashboard has a file of unknown type: {resource} ({other})"),
        };
        return new Asset(body, contentType, $"\"{Convert.ToHexString(SHA256.HashData(body))[..16]}\"");
    }
}
