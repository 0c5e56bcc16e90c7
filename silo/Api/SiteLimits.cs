using CallMesh.Edge;

namespace CallMesh.Silo.Api;

/// <summary>
/// Each site's budget of new DNI sessions per second on this silo (CALLMESH_RATELIMIT__DNIPERSITEPERSECOND, default 200),
/// spent only by requests found valid for that site (its key, its domains, valid numbers): a flood of junk naming a
/// site cannot spend its real visitors' budget, as it could when the gateway counted every request by its query.
/// </summary>
public sealed class SiteLimits(IConfiguration configuration)
{
    private readonly int _perSecond = configuration.GetValue("RATELIMIT:DNIPERSITEPERSECOND", 200);
    private KeyedTokenBuckets<string>? _buckets;

    private KeyedTokenBuckets<string> Buckets => _buckets ??= new(key => key, Math.Max(1, _perSecond), TimeSpan.FromSeconds(1));

    /// <summary>A 429 problem with Retry-After when the site is over its budget, else null (and one session spent).</summary>
    public IResult? Refuse(HttpContext http, string siteKey)
    {
        if (_perSecond <= 0) return null;
        using var lease = Buckets.AttemptAcquire(siteKey);
        if (lease.IsAcquired) return null;
        var wait = lease.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString();
        return Problems.Problem(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many new sessions for this site; slow down.");
    }
}
