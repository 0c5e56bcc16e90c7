using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Visitors;

namespace CallMesh.Tenants;

public sealed class TenantGrain(
    [PersistentState("tenant", "callmesh")] IPersistentState<TenantGrain.State> stored, TimeProvider clock) : Grain, ITenantGrain
{
    public Task<TenantSnapshot?> Get() => Task.FromResult(
        stored.State.Config is { } config
            ? new TenantSnapshot(this.GetPrimaryKeyString(), config, stored.State.UpdatedAt, stored.State.RulesVersion) : null);

    public async Task<SaveResult> Put(TenantConfig config)
    {
        var errors = TenantRules.Validate(config);
        if (errors.Any) return SaveResult.Invalid(errors.ToDictionary());

        var created = stored.State.Config is null;
        var rulesChanged = !created && !TenantRules.SameRules(stored.State.Config!.DefaultConversionRules, config.DefaultConversionRules);
        stored.State = stored.State with
        {
            Config = config,
            UpdatedAt = clock.GetUtcNow().UtcDateTime,
            RulesVersion = stored.State.RulesVersion + (rulesChanged ? 1 : 0),
        };
        await stored.WriteStateAsync();
        return created ? SaveResult.Created : SaveResult.Updated;
    }

    public async Task IndexLocation(LocationIndexEntry entry)
    {
        if (stored.State.Locations.TryGetValue(entry.LocationId, out var known) && known.Same(entry)) return;
        stored.State.Locations[entry.LocationId] = entry;
        await stored.WriteStateAsync();
    }

    public async Task IndexPool(string poolId, string? locationId)
    {
        if (stored.State.Pools.TryGetValue(poolId, out var known) && known == locationId) return;
        stored.State.Pools[poolId] = locationId;
        await stored.WriteStateAsync();
    }

    public async Task IndexSite(string siteKey)
    {
        if (!stored.State.Sites.Add(siteKey)) return;
        await stored.WriteStateAsync();
    }

    public Task<SaveResult> PutConversionRules(ConversionRules? rules) =>
        stored.State.Config is { } config ? Put(config with { DefaultConversionRules = rules }) : Task.FromResult(SaveResult.NotFound);

    public Task<SaveResult> PutSpamRules(SpamRules? rules) =>
        stored.State.Config is { } config ? Put(config with { SpamRules = rules }) : Task.FromResult(SaveResult.NotFound);

    public Task<IReadOnlyList<PoolIndexEntry>> ListPools() => Task.FromResult<IReadOnlyList<PoolIndexEntry>>(
        stored.State.Pools.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new PoolIndexEntry(p.Key, p.Value)).ToList());

    public Task<IReadOnlyList<string>> ListSites() => Task.FromResult<IReadOnlyList<string>>(
        stored.State.Sites.Order(StringComparer.Ordinal).ToList());

    public async Task ConversionRulesChanged()
    {
        stored.State = stored.State with { RulesVersion = stored.State.RulesVersion + 1 };
        await stored.WriteStateAsync();
    }

    public Task<IReadOnlyList<LocationIndexEntry>> ListLocations() => Task.FromResult<IReadOnlyList<LocationIndexEntry>>(
        stored.State.Locations.Values.OrderBy(l => l.LocationId, StringComparer.Ordinal).ToList());

    public Task<List<PlannedSwap>> PlanSwaps(List<string> targets, string? defaultLocation, List<string> siteTargets, PageContext page)
    {
        // One pass over pools and locations per call (geo plans are not cached per silo): a location's
        // first pool by id answers for it; "" stands for brand-wide.
        var poolByLocation = stored.State.Pools.OrderBy(p => p.Key, StringComparer.Ordinal)
            .GroupBy(p => p.Value ?? "").ToDictionary(g => g.Key, g => g.First().Key);
        string? PoolOf(string? location) => poolByLocation.GetValueOrDefault(location ?? "");
        var napOwners = stored.State.Locations.Values.Where(l => l.NapPhone is not null)
            .GroupBy(l => l.NapPhone!).ToDictionary(g => g.Key, g => g.First().LocationId);
        var plan = new List<PlannedSwap>();
        (string Location, string Pool, string By)? siteChoice = null;
        foreach (var target in targets.Distinct())
        {
            var owner = napOwners.GetValueOrDefault(target);
            if (owner is not null)
            {
                // A location's own number is swapped only from its own pool, so its calls still reach it.
                if (PoolOf(owner) is { } ownPool) plan.Add(new PlannedSwap(target, ownPool, owner, "nap-phone"));
                continue;
            }
            if (!siteTargets.Contains(target)) continue;   // not ours: a partner's or a customer's number stays as it is
            siteChoice ??= LocationFor(page, defaultLocation, PoolOf);
            if (siteChoice is { } choice)
                plan.Add(new PlannedSwap(target, choice.Pool, choice.Location, choice.By));
            else if (PoolOf(null) is { } brandPool)
                plan.Add(new PlannedSwap(target, brandPool, null, "brand-pool"));
        }
        return Task.FromResult(plan);
    }

    /// <summary>The location whose pool answers for the site's own numbers on this page, and which rule decided.</summary>
    private (string Location, string Pool, string By)? LocationFor(PageContext page, string? defaultLocation, Func<string?, string?> poolOf)
    {
        var locations = stored.State.Locations.Values.Where(l => poolOf(l.LocationId) is not null).ToList();
        var byPage = locations
            .SelectMany(l => (l.PagePatterns ?? []).Where(p => PagePattern.Matches(p, page.Path)).Select(p => (l, p.Length)))
            .OrderByDescending(x => x.Length).Select(x => x.l).FirstOrDefault();
        if (byPage is not null) return (byPage.LocationId, poolOf(byPage.LocationId)!, "page");

        foreach (var place in page.Places ?? [])
        {
            var nearest = locations
                .Where(l => l is { Lat: not null, Lon: not null, ServiceRadiusMiles: not null })
                .Select(l => (l, Miles: GreatCircle.Miles(place.Lat, place.Lon, l.Lat!.Value, l.Lon!.Value)))
                .Where(x => x.Miles <= x.l.ServiceRadiusMiles).OrderBy(x => x.Miles).Select(x => x.l).FirstOrDefault();
            if (nearest is not null) return (nearest.LocationId, poolOf(nearest.LocationId)!, place.Source);
        }

        return defaultLocation is not null && poolOf(defaultLocation) is { } pool ? (defaultLocation, pool, "site-default") : null;
    }

    [GenerateSerializer, Alias("callmesh.TenantGrain.State")]
    public sealed record State
    {
        [Id(0)] public TenantConfig? Config { get; init; }
        [Id(1)] public DateTime UpdatedAt { get; init; }
        /// <summary>Location id → what scope checks and swap planning need without asking every location.</summary>
        [Id(2)] public Dictionary<string, LocationIndexEntry> Locations { get; init; } = new(StringComparer.Ordinal);
        /// <summary>Pool id → its location (null: brand-wide).</summary>
        [Id(3)] public Dictionary<string, string?> Pools { get; init; } = new(StringComparer.Ordinal);
        [Id(4)] public int RulesVersion { get; init; }
        /// <summary>Site keys (sites saved since 0.10; an older site joins at its next save).</summary>
        [Id(5)] public HashSet<string> Sites { get; init; } = new(StringComparer.Ordinal);
    }
}
