namespace CallMesh.Calls;

/// <summary>
/// A caller's history is the calls table itself (loaded once per activation, then kept in memory as calls
/// arrive), so recording a call costs no write of its own; only the blocked flag is grain state.
/// </summary>
public sealed class CallerGrain(
    [PersistentState("caller", "callmesh")] IPersistentState<CallerGrain.State> stored,
    CallStore calls) : Grain, ICallerGrain
{
    private Dictionary<string, PastCall> _calls = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (tenantId, caller) = Common.TenantKey.Parse(this.GetPrimaryKeyString());
        _calls = (await calls.CallerHistoryAsync(tenantId, caller)).ToDictionary(c => c.CallId, c => new PastCall(c.LocationId, c.At), StringComparer.Ordinal);
    }

    public Task<CallerFacts> RecordCall(string callId, string? locationId, DateTime at)
    {
        _calls.TryAdd(callId, new PastCall(locationId, at));
        // What was true before this call, whatever order calls were recorded in.
        var before = _calls.Where(c => c.Key != callId && (c.Value.At < at || (c.Value.At == at && string.CompareOrdinal(c.Key, callId) < 0)))
            .Select(c => c.Value).ToList();
        return Task.FromResult(new CallerFacts(stored.State.Blocked, before.Count == 0, before.All(c => c.LocationId != locationId),
            before.Count == 0 ? null : before.Max(c => c.At)));
    }

    public async Task SetBlocked(bool blocked, string? reason)
    {
        stored.State = stored.State with { Blocked = blocked, BlockedReason = blocked ? reason : null };
        await stored.WriteStateAsync();
    }

    private sealed record PastCall(string? LocationId, DateTime At);

    [GenerateSerializer, Alias("callmesh.CallerGrain.State")]
    public sealed record State
    {
        [Id(1)] public bool Blocked { get; init; }
        [Id(2)] public string? BlockedReason { get; init; }
    }
}
