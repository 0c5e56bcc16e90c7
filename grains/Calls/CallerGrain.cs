namespace CallMesh.Calls;

public sealed class CallerGrain(
    [PersistentState("caller", "callmesh")] IPersistentState<CallerGrain.State> stored) : Grain, ICallerGrain
{
    public async Task<CallerFacts> RecordCall(string callId, string? locationId, DateTime at)
    {
        var calls = stored.State.Calls;
        if (!calls.ContainsKey(callId))
        {
            calls[callId] = new PastCall(locationId, at);
            await stored.WriteStateAsync();
        }
        // What was true before this call, whatever order calls were recorded in.
        var before = calls.Where(c => c.Key != callId && (c.Value.At < at || (c.Value.At == at && string.CompareOrdinal(c.Key, callId) < 0)))
            .Select(c => c.Value).ToList();
        return new CallerFacts(stored.State.Blocked, before.Count == 0, before.All(c => c.LocationId != locationId),
            before.Count == 0 ? null : before.Max(c => c.At));
    }

    public async Task SetBlocked(bool blocked, string? reason)
    {
        stored.State = stored.State with { Blocked = blocked, BlockedReason = blocked ? reason : null };
        await stored.WriteStateAsync();
    }

    public Task<CallerSummary> Get()
    {
        var calls = stored.State.Calls.Values;
        return Task.FromResult(new CallerSummary(stored.State.Blocked, stored.State.BlockedReason, calls.Count,
            calls.Count == 0 ? null : calls.Min(c => c.At), calls.Count == 0 ? null : calls.Max(c => c.At)));
    }

    [GenerateSerializer, Alias("callmesh.CallerGrain.PastCall")]
    public sealed record PastCall([property: Id(0)] string? LocationId, [property: Id(1)] DateTime At);

    [GenerateSerializer, Alias("callmesh.CallerGrain.State")]
    public sealed record State
    {
        [Id(0)] public Dictionary<string, PastCall> Calls { get; init; } = new(StringComparer.Ordinal);
        [Id(1)] public bool Blocked { get; init; }
        [Id(2)] public string? BlockedReason { get; init; }
    }
}
