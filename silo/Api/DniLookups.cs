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
public sealed class DniLookups(IGrainFactory grains, GrainReferences references, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(10);

    // A silo serves thousands of sites at most; a flood of made-up site keys (each remembered as unknown) gets no more room.
    private readonly FreshCache<SiteSnapshot?> _sites = new(clock, Freshness, capacity: 10_000);
    private readonly FreshCache<List<PlannedSwap>> _plans = new(clock, Freshness);

    public async Task<SiteSnapshot?> SiteAsync(string siteKey) =>
        Rules.IsValidId(siteKey) ? await _sites.GetAsync(siteKey, key => grains.GetGrain<ISiteGrain>(key).Get()) : null;

    /// <summary>
    /// The plan for the page's path is remembered. Where the visitor is (<paramref name="places"/>, as many as
    /// visitors) is worked out and planned with only when the path alone left a site target to a fallback that a
    /// place could beat (the site's default location or the brand pool).
    /// </summary>
    public async Task<List<PlannedSwap>> PlanAsync(SiteSnapshot site, List<string> targets, string path, Func<List<VisitorPlace>> places)
    {
        var tenant = references.Get<ITenantGrain>(site.TenantId);
        var plan = await _plans.GetAsync($"{site.SiteKey}|{path}|{string.Join(",", targets)}",
            _ => tenant.PlanSwaps(targets, site.Config.DefaultLocation, site.Config.Targets ?? [], new PageContext(path)));
        if (!plan.Any(s => s.ResolvedBy is "site-default" or "brand-pool")) return plan;
        var visitor = places();
        return visitor.Count > 0
            ? await tenant.PlanSwaps(targets, site.Config.DefaultLocation, site.Config.Targets ?? [], new PageContext(path, visitor))
            : plan;
    }
}
