using CallMesh.Common;

namespace CallMesh.Tenants;

public sealed class TenantGrain(
    [PersistentState("tenant", "callmesh")] IPersistentState<TenantGrain.State> stored) : Grain, ITenantGrain
{
    public Task<TenantSnapshot?> Get() => Task.FromResult(
        stored.State.Config is { } config ? new TenantSnapshot(this.GetPrimaryKeyString(), config, stored.State.UpdatedAt) : null);

    public async Task<SaveResult> Put(TenantConfig config)
    {
        var errors = TenantRules.Validate(config);
        if (errors.Any) return SaveResult.Invalid(errors.ToDictionary());

        var created = stored.State.Config is null;
        stored.State = stored.State with { Config = config, UpdatedAt = DateTime.UtcNow };
        await stored.WriteStateAsync();
        return created ? SaveResult.Created : SaveResult.Updated;
    }

    public async Task IndexLocation(string locationId, string? market)
    {
        if (stored.State.Locations.TryGetValue(locationId, out var known) && known == market) return;
        stored.State.Locations[locationId] = market;
        await stored.WriteStateAsync();
    }

    public Task<IReadOnlyList<LocationIndexEntry>> ListLocations() => Task.FromResult<IReadOnlyList<LocationIndexEntry>>(
        stored.State.Locations.OrderBy(l => l.Key, StringComparer.Ordinal)
            .Select(l => new LocationIndexEntry(l.Key, l.Value)).ToList());

    [GenerateSerializer, Alias("callmesh.TenantGrain.State")]
    public sealed record State
    {
        [Id(0)] public TenantConfig? Config { get; init; }
        [Id(1)] public DateTime UpdatedAt { get; init; }
        /// <summary>Location id → market id: enough to answer "which locations may this caller see".</summary>
        [Id(2)] public Dictionary<string, string?> Locations { get; init; } = new(StringComparer.Ordinal);
    }
}
