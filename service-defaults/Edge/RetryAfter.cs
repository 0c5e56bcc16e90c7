using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace CallMesh.Edge;

public static class RetryAfter
{
    /// <summary>Sets Retry-After (whole seconds, at least 1) from a refused lease's wait, for a 429 answer.</summary>
    public static void From(HttpContext http, RateLimitLease lease)
    {
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString();
    }
}
