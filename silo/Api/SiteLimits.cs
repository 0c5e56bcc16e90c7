using CallMesh.Edge;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>A budget per key per second on this silo: past it, 429 problem details with Retry-After.</summary>
public class PerSecondBudget(int perSecond, string detail)
{
    private KeyedTokenBuckets<string>? _buckets;

    private KeyedTokenBuckets<string> Buckets => _buckets ??= new(key => key, Math.Max(1, perSecond), TimeSpan.FromSeconds(1));

    /// <summary>Whether <paramref name="key"/> has budget left (and one spent).</summary>
    public bool Allows(string key)
    {
        if (perSecond <= 0) return true;
        using var lease = Buckets.AttemptAcquire(key);
        return lease.IsAcquired;
    }

    /// <summary>A 429 problem with Retry-After when <paramref name="key"/> is over its budget, else null (and one spent).</summary>
    public ProblemHttpResult? Refuse(HttpContext http, string key)
    {
        if (perSecond <= 0) return null;
        using var lease = Buckets.AttemptAcquire(key);
        if (lease.IsAcquired) return null;
        RetryAfter.From(http, lease);
        return Problems.Problem(StatusCodes.Status429TooManyRequests, "rate-limited", detail);
    }
}

/// <summary>
/// Each site's budget of new DNI sessions per second on this silo (CALLMESH_RATELIMIT__DNIPERSITEPERSECOND, default 200),
/// spent only by requests found valid for that site (its key, its domains, valid numbers): a flood of junk naming a
/// site cannot spend its real visitors' budget, as it could when the gateway counted every request by its query.
/// </summary>
public sealed class SiteLimits(IConfiguration configuration)
    : PerSecondBudget(configuration.GetValue("RATELIMIT:DNIPERSITEPERSECOND", 200), "Too many new sessions for this site; slow down.");

/// <summary>
/// Each carrier account's budget of webhooks per second on this silo (CALLMESH_RATELIMIT__WEBHOOKSPERACCOUNTPERSECOND,
/// default 200: generous, a busy brand's peak is tens), spent only by webhooks its token signed. A replayed or runaway
/// stream of signed webhooks cannot take a silo; the carrier then calls its fallback URL, which the gateway answers, so
/// callers still ring through.
/// </summary>
public sealed class WebhookLimits(IConfiguration configuration)
    : PerSecondBudget(configuration.GetValue("RATELIMIT:WEBHOOKSPERACCOUNTPERSECOND", 200),
        "Too many webhooks for this carrier account; the fallback URL answers meanwhile.")
{
    /// <summary>
    /// A webhook the holder's token did not sign looks up the account's waiting claims in PostgreSQL; anyone can send one,
    /// so those lookups have a small budget per account (5 a second a silo): a forged flood costs the database no more.
    /// </summary>
    public PerSecondBudget ClaimLookups { get; } = new(5, "");
}
