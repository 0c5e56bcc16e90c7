using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Numbers;

namespace CallMesh.Nap;

public sealed class CitationsGrain(
    [PersistentState("citations", "callmesh")] IPersistentState<CitationsGrain.State> stored,
    NumberDirectory directory, TimeProvider clock) : Grain, ICitationsGrain
{
    public const int MaxCitations = 500;

    private (string TenantId, string LocationId) Key => TenantKey.Parse(this.GetPrimaryKeyString());

    public async Task<SaveResult> Put(string key, CitationInput input)
    {
        var errors = new ValidationErrors();
        if (!Rules.IsValidId(key)) errors.Add("key", "must be lower-case letters, digits and dashes (at most 64).");
        if (!Uri.TryCreate(input.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || input.Url!.Length > 2048)
            errors.Add("url", "must be the listing's absolute http(s) URL (at most 2048 characters).");
        foreach (var (field, value, max) in new[] { ("publisher", input.Publisher, 100), ("name", input.Name, 200), ("address", input.Address, 300) })
            if (errors.Required(field, value) is { } text && text.Length > max) errors.Add(field, $"must be at most {max} characters.");
        var phone = errors.Required("phone", input.Phone) is { } published ? Rules.ToE164(published) : null;
        if (input.Phone is { Length: > 0 } && phone is null) errors.Add("phone", "is not a valid phone number (as published, e.g. (512) 555-0100 or +15125550100).");
        if (!stored.State.Citations.ContainsKey(key) && stored.State.Citations.Count >= MaxCitations)
            errors.Add("key", $"a location has at most {MaxCitations} citations.");
        if (errors.Any) return SaveResult.Invalid(errors.ToDictionary());
        if (await GrainFactory.GetGrain<ILocationGrain>(this.GetPrimaryKeyString()).Get() is null) return SaveResult.NotFound;

        var created = !stored.State.Citations.ContainsKey(key);
        stored.State.Citations[key] = new Citation(key, input.Url!, input.Publisher!.Trim(), input.Name!.Trim(), input.Address!.Trim(), phone!, clock.GetUtcNow().UtcDateTime);
        await stored.WriteStateAsync();
        return created ? SaveResult.Created : SaveResult.Updated;
    }

    public async Task<bool> Remove(string key)
    {
        if (!stored.State.Citations.Remove(key)) return false;
        await stored.WriteStateAsync();
        return true;
    }

    public Task<List<Citation>> List() => Task.FromResult(stored.State.Citations.Values.OrderBy(c => c.Key, StringComparer.Ordinal).ToList());

    public async Task<List<NapFinding>?> Audit()
    {
        if (await GrainFactory.GetGrain<ILocationGrain>(this.GetPrimaryKeyString()).Get() is not { } location) return null;
        var citations = await List();
        var numbers = await directory.FindAsync(Key.TenantId, citations.Select(c => c.Phone));
        return NapAudit.Check(Key.LocationId, location.Config, citations, numbers);
    }

    [GenerateSerializer, Alias("callmesh.CitationsGrain.State")]
    public sealed record State
    {
        [Id(0)] public Dictionary<string, Citation> Citations { get; init; } = new(StringComparer.Ordinal);
    }
}
