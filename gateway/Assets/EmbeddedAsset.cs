using System.Security.Cryptography;

namespace CallMesh.Gateway.Assets;

/// <summary>
/// A file compiled into the gateway (so it runs from any working directory) and served from memory,
/// with an ETag from its content: an unchanged file is a 304 however the gateway was redeployed.
/// </summary>
public sealed record EmbeddedAsset(byte[] Body, string ContentType, string ETag, byte[] Sha384)
{
    public static EmbeddedAsset Load(string resource, string contentType)
    {
        using var stream = typeof(EmbeddedAsset).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{resource} is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var body = copy.ToArray();
        var hash = SHA384.HashData(body);
        return new EmbeddedAsset(body, contentType, $"\"{Convert.ToHexString(hash)[..16]}\"", hash);
    }

    /// <summary>Answers the file, or 304 to a client that holds it; the caller adds headers of its own first.</summary>
    public IResult Serve(HttpContext http, string cacheControl)
    {
        var headers = http.Response.Headers;
        headers.CacheControl = cacheControl;
        headers.ETag = ETag;
        headers["X-Content-Type-Options"] = "nosniff";
        if (http.Request.Headers.IfNoneMatch.ToString() == ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(Body, ContentType);
    }
}
