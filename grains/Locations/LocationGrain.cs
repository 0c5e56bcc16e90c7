using CallMesh.Common;
using CallMesh.Tenants;

namespace CallMesh.Locations;

public sealed class LocationGrain(
    [PersistentState("location", "callmesh")] IPersistentState<LocationGrain.State> stored, TimeProvider clock) : Grain, ILocationGrain
{
    private (string TenantId, string LocationId) Key => TenantKey.Parse(this.GetPrimaryKeyString());

    public Task<LocationSnapshot?> Get() => Task.FromResult(
        stored.State.Config is { } config ? new LocationSnapshot(Key.TenantId, Key.LocationId, config, stored.State.UpdatedAt) : null);

    public async Task<SaveResult> Put(LocationConfig config)
    {
        var errors = LocationRules.Validate(config);
        if (errors.Any) return SaveResult.Invalid(errors.ToDictionary());

        var tenant = GrainFactory.GetGrain<ITenantGrain>(Key.TenantId);
        if (await tenant.Get() is null) return SaveResult.NotFound;

        var created = stored.State.Config is null;
        var rulesChanged = !created && !TenantRules.SameRules(stored.State.Config!.ConversionRules, config.ConversionRules);
        stored.State = new State { Config = config, UpdatedAt = clock.GetUtcNow().UtcDateTime };
        await stored.WriteStateAsync();
        if (rulesChanged) await tenant.ConversionRulesChanged();
        // After our own write: a crash in between leaves a location that the next PUT (idempotent) indexes.
        await tenant.IndexLocation(new LocationIndexEntry(Key.LocationId, config.Market, config.NapPhone, config.PagePatterns,
            config.Geo?.Lat, config.Geo?.Lon, config.ServiceRadiusMiles));
        return created ? SaveResult.Created : SaveResult.Updated;
    }

    [GenerateSerializer, Alias("callmesh.LocationGrain.State")]
    public sealed record State
    {
        [Id(0)] public LocationConfig? Config { get; init; }
        [Id(1)] public DateTime UpdatedAt { get; init; }
    }
}
