using System.Collections.Concurrent;
using CallMesh.Common;
using CallMesh.Sites;
using CallMesh.Tenants;
using CallMesh.Visitors;

namespace CallMesh.Silo.Api;

/// <summary>
/// Per-silo memory of the two lookups every DNI request makes (which site, and which pool answers
/// for which number), so the hot path asks only the visitor and pool grains. Entries live for
/// <see cref="Freshness"/>: a changed site or a new pool reaches every silo within that time.
/// </summary>
public sealed class DniLookups(IGrainFactory grains, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (SiteSnapshot? Site, DateTime Until)> _sites = new();
    private readonly ConcurrentDictionary<string, (List<PlannedSwap> Plan, DateTime Until)> _plans = new();

    public async Task<SiteSnapshot?> SiteAsync(string siteKey)
    {
        if (!Rules.IsValidId(siteKey)) return null;
        var now = clock.GetUtcNow().UtcDateTime;
        if (_sites.TryGetValue(siteKey, out var known) && known.Until > now) return known.Site;
        var site = await grains.GetGrain<ISiteGrain>(siteKey).Get();
        if (_sites.Count > 100_000) _sites.Clear();   // unknown keys are remembered too; keep that bounded
        _sites[siteKey] = (site, now + Freshness);
        return site;
    }

    /// <summary>
    /// The plan for the page's path is remembered; a visitor's places are as many as visitors, so a plan
    /// with places is asked for only when the path alone left a site target to a fallback that a place
    /// could beat (the site's default location or the brand pool).
    /// </summary>
    public async Task<List<PlannedSwap>> PlanAsync(SiteSnapshot site, List<string> targets, PageContext page)
    {
        var tenant = grains.GetGrain<ITenantGrain>(site.TenantId);
        var key = $"{site.SiteKey}|{page.Path}|{string.Join(",", targets)}";
        var now = clock.GetUtcNow().UtcDateTime;
        if (!_plans.TryGetValue(key, out var known) || known.Until <= now)
        {
            known = (await tenant.PlanSwaps(targets, site.Config.DefaultLocation, site.Config.Targets ?? [], page with { Places = null }), now + Freshness);
            if (_plans.Count > 100_000) _plans.Clear();
            _plans[key] = known;
        }
        return page.Places is { Count: > 0 } && known.Plan.Any(s => s.ResolvedBy is "site-default" or "brand-pool")
            ? await tenant.PlanSwaps(targets, site.Config.DefaultLocation, site.Config.Targets ?? [], page)
            : known.Plan;
    }
}
