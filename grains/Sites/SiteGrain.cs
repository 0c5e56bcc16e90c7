using System.Text.RegularExpressions;
using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Tenants;

namespace CallMesh.Sites;

public sealed partial class SiteGrain(
    [PersistentState("site", "callmesh")] IPersistentState<SiteGrain.State> stored, TimeProvider clock) : Grain, ISiteGrain
{
    public Task<SiteSnapshot?> Get() => Task.FromResult(stored.State is { TenantId: { } tenant, Config: { } config }
        ? new SiteSnapshot(this.GetPrimaryKeyString(), tenant, config, stored.State.UpdatedAt)
        : null);

    public async Task<SaveResult> Put(string tenantId, SiteConfig config)
    {
        // A site key names one tenant's site for good: another tenant cannot take it over.
        if (stored.State.TenantId is { } owner && owner != tenantId) return SaveResult.NotFound;

        var errors = Validate(config);
        if (config.DefaultLocation is { } location
            && await GrainFactory.GetGrain<ILocationGrain>(TenantKey.For(tenantId, location)).Get() is null)
            errors.Add("defaultLocation", $"no location '{location}' in this tenant.");
        if (errors.Any) return SaveResult.Invalid(errors.ToDictionary());

        var created = stored.State.Config is null;
        stored.State = new State { TenantId = tenantId, Config = config, UpdatedAt = clock.GetUtcNow().UtcDateTime };
        await stored.WriteStateAsync();
        await GrainFactory.GetGrain<ITenantGrain>(tenantId).IndexSite(this.GetPrimaryKeyString());
        return created ? SaveResult.Created : SaveResult.Updated;
    }

    private static ValidationErrors Validate(SiteConfig config)
    {
        var errors = new ValidationErrors();
        if (config.Domains is not { Count: > 0 })
            errors.Add("domains", "at least one domain the script runs on, such as www.example.com.");
        for (var i = 0; i < (config.Domains?.Count ?? 0); i++)
            if (config.Domains![i] is not { } domain || !HostPattern().IsMatch(domain))
                errors.Add($"domains[{i}]", "must be a lower-case host name such as www.example.com (no scheme, path or port).");
        for (var i = 0; i < (config.SourceRules?.Count ?? 0); i++)
        {
            var rule = config.SourceRules![i];
            if ((rule.Param is null) == (rule.ReferrerHost is null))
                errors.Add($"sourceRules[{i}]", "set exactly one of param (a landing-page parameter) or referrerHost.");
            errors.Required($"sourceRules[{i}].source", rule.Source);
            errors.Required($"sourceRules[{i}].medium", rule.Medium);
        }
        for (var i = 0; i < (config.Targets?.Count ?? 0); i++)
            Rules.PhoneNumber(errors, $"targets[{i}]", config.Targets![i], required: true);
        if (config.DefaultLocation is { } location && !Rules.IsValidId(location))
            errors.Add("defaultLocation", "must be a location id.");
        return errors;
    }

    [GeneratedRegex(@"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")]
    private static partial Regex HostPattern();

    [GenerateSerializer, Alias("callmesh.SiteGrain.State")]
    public sealed record State
    {
        [Id(0)] public string? TenantId { get; init; }
        [Id(1)] public SiteConfig? Config { get; init; }
        [Id(2)] public DateTime UpdatedAt { get; init; }
    }
}
