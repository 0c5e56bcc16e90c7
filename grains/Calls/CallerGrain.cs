namespace CallMesh.Calls;

/// <summary>
/// A caller's history is the calls table itself, and the blocklist is callmesh.blocked_callers: both are read
/// in one round trip per activation, then kept in memory as calls arrive, so recording a call writes nothing.
/// </summary>
[CollectionAgeLimit(Minutes = 5)]
public sealed class CallerGrain(CallStore calls) : Grain, ICallerGrain
{
    private Dictionary<string, PastCall> _calls = new(StringComparer.Ordinal);
    private bool _blocked;
    private (string TenantId, string Caller) _key;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = Common.TenantKey.Parse(this.GetPrimaryKeyString());
        var (history, blocked) = await calls.CallerAsync(_key.TenantId, _key.Caller);
        _calls = history.ToDictionary(c => c.CallId, c => new PastCall(c.LocationId, c.At, c.Visit, c.EndedSeconds), StringComparer.Ordinal);
        _blocked = blocked;
    }

    public Task<CallerFacts> RecordCall(string callId, string? locationId, DateTime at, CallerVisit? visit = null)
    {
        _calls.TryAdd(callId, new PastCall(locationId, at, visit, null));
        // What was true before this call, whatever order calls were recorded in.
        var before = _calls.Where(c => c.Key != callId && (c.Value.At < at || (c.Value.At == at && string.CompareOrdinal(c.Key, callId) < 0)))
            .Select(c => c.Value).ToList();
        return Task.FromResult(new CallerFacts(_blocked, before.Count == 0, before.All(c => c.LocationId != locationId),
            before.Count == 0 ? null : before.Max(c => c.At), before.Where(c => c.Visit is not null).MaxBy(c => c.At)?.Visit));
    }

    public async Task SetBlocked(bool blocked, string? reason)
    {
        await calls.SetBlockedAsync(_key.TenantId, _key.Caller, blocked, blocked ? reason : null);
        _blocked = blocked;
    }

    public Task<int> ShortCallsUpTo(string callId, int seconds, int shortSeconds, TimeSpan window)
    {
        if (!_calls.TryGetValue(callId, out var call)) return Task.FromResult(0);
        _calls[callId] = call = call with { EndedSeconds = seconds };
        return Task.FromResult(_calls.Values.Count(c => c.EndedSeconds < shortSeconds && c.At <= call.At && c.At > call.At - window));
    }

    public Task Forget()
    {
        _calls.Clear();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    /// <summary><c>EndedSeconds</c>: how long the call lasted once it ended (texts and calls still going: null).</summary>
    private sealed record PastCall(string? LocationId, DateTime At, CallerVisit? Visit, int? EndedSeconds);
}
