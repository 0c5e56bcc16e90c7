using System.Net;
using System.Threading.RateLimiting;
using CallMesh.Edge;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;

namespace CallMesh.Gateway.Proxy;

/// <summary>
/// What the gateway does before anything reaches a silo: trust X-Forwarded-For only from the
/// configured proxy networks (CALLMESH_TRUSTED_PROXIES, CIDRs), and rate-limit per client address (the anonymous DNI
/// endpoints and, apart, every other route) and per API key (429 problem with Retry-After). A site's own limit is the
/// silo's, on requests it found valid (silo/Api/DniApi.cs): counted here, a flood of junk naming a site drained its budget.
/// </summary>
public static class EdgeProtection
{
    public static IServiceCollection AddEdgeProtection(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            o.ForwardLimit = 1;
            foreach (var cidr in TrustedProxies(configuration)) o.KnownIPNetworks.Add(cidr);
        });

        var perIpPerMinute = configuration.GetValue("RATELIMIT:DNIPERIPPERMINUTE", 120);
        // Every other route (the tenant APIs, the dashboard, the script): per client address and per API key. Carrier
        // webhooks are left out: a carrier calls from a few addresses for every brand, and a caller must never hear a 429.
        var apiPerIpPerMinute = configuration.GetValue("RATELIMIT:APIPERIPPERMINUTE", 600);
        var apiPerKeyPerMinute = configuration.GetValue("RATELIMIT:APIPERKEYPERMINUTE", 1200);
        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained<HttpContext>(
                // Each limiter has its own buckets, so its keys need no prefix (one string less per DNI request).
                new KeyedTokenBuckets<HttpContext>(http => IsDni(http) && perIpPerMinute > 0 ? CallMesh.Edge.ClientKeys.Of(http.Connection.RemoteIpAddress) : null,
                    Math.Max(1, perIpPerMinute), TimeSpan.FromMinutes(1)),
                new KeyedTokenBuckets<HttpContext>(http => IsApi(http) && apiPerIpPerMinute > 0 ? CallMesh.Edge.ClientKeys.Of(http.Connection.RemoteIpAddress) : null,
                    Math.Max(1, apiPerIpPerMinute), TimeSpan.FromMinutes(1)),
                new KeyedTokenBuckets<HttpContext>(http => IsApi(http) && apiPerKeyPerMinute > 0 ? ApiKeyId(http) : null,
                    Math.Max(1, apiPerKeyPerMinute), TimeSpan.FromMinutes(1)));
            o.OnRejected = async (context, token) =>
            {
                RetryAfter.From(context.HttpContext, context.Lease);
                await ProblemResponses.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests; slow down.");
            };
        });
        return services;
    }

    /// <summary>Geo headers a CDN adds about the visitor; believed only when the CDN is the peer we trust.</summary>
    public static readonly string[] CdnGeoHeaders =
    [
        "cf-iplatitude", "cf-iplongitude", "cf-postal-code",
        "CloudFront-Viewer-Latitude", "CloudFront-Viewer-Longitude", "CloudFront-Viewer-Postal-Code",
    ];

    public static WebApplication UseEdgeProtection(this WebApplication app)
    {
        // Before forwarded headers rewrite the client address: trust is about the peer that connected to us.
        var trusted = TrustedProxies(app.Configuration).ToList();
        app.Use((http, next) =>
        {
            var peer = http.Connection.RemoteIpAddress;
            if (peer is null || !trusted.Any(network => network.Contains(peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer)))
                foreach (var header in CdnGeoHeaders) http.Request.Headers.Remove(header);
            return next(http);
        });
        app.UseForwardedHeaders();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>
    /// After authentication: one budget for all of a tenant's signed-in users together (CALLMESH_RATELIMIT__APIPERTENANTPERMINUTE,
    /// default 6,000), keyed by the tenant of a token the gateway validated, so no request naming a tenant can spend it.
    /// API keys have their own budget above.
    /// </summary>
    public static WebApplication UseTenantLimit(this WebApplication app)
    {
        var perMinute = app.Configuration.GetValue("RATELIMIT:APIPERTENANTPERMINUTE", 6000);
        if (perMinute <= 0) return app;
        var buckets = new KeyedTokenBuckets<HttpContext>(
            http => IsApi(http) && http.User.Identity?.IsAuthenticated == true ? http.User.FindFirst(CallMesh.Identity.JwtSetup.TenantClaim)?.Value : null,
            perMinute, TimeSpan.FromMinutes(1));
        app.Use(async (http, next) =>
        {
            using (var lease = buckets.AttemptAcquire(http))
                if (!lease.IsAcquired)
                {
                    RetryAfter.From(http, lease);
                    await ProblemResponses.WriteAsync(http, StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests for this tenant; slow down.");
                    return;
                }
            await next(http);
        });
        return app;
    }

    /// <summary>The CIDRs whose X-Forwarded-* headers are believed (a CDN or load balancer in front).</summary>
    public static IEnumerable<System.Net.IPNetwork> TrustedProxies(IConfiguration configuration) =>
        (configuration["TRUSTED_PROXIES"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(System.Net.IPNetwork.Parse);

    /// <summary>The anonymous DNI endpoints: every page view of every brand site.</summary>
    public static bool IsDniPath(HttpContext http) => http.Request.Path.StartsWithSegments("/v1/dni");

    private static bool IsDni(HttpContext http) => IsDniPath(http) && !HttpMethods.IsOptions(http.Request.Method);

    /// <summary>
    /// What the per-address API limit covers: all but DNI (limited above), carrier webhooks, health probes and the ping
    /// (which does nothing worth limiting, and is the benchmark's measure of the bare stack).
    /// </summary>
    private static bool IsApi(HttpContext http) =>
        !IsDniPath(http) && !http.Request.Path.StartsWithSegments("/v1/voice") && !http.Request.Path.StartsWithSegments("/health")
        && !http.Request.Path.StartsWithSegments("/v1/ping");

    /// <summary>The key id of "Bearer cmk_{id}_{secret}" (its secret never becomes a bucket's name), or null.</summary>
    private static string? ApiKeyId(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        const string prefix = "Bearer " + CallMesh.Identity.JwtSetup.ApiKeyPrefix;
        if (!header.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var end = header.IndexOf('_', prefix.Length);
        return end > prefix.Length && end - prefix.Length <= 32 ? header[prefix.Length..end] : null;
    }
}
