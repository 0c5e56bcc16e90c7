namespace CallMesh.Calls;

/// <summary>
/// A caller's history is the calls table itself, and the blocklist is callmesh.blocked_callers: both are read once per
/// activation (by the call's start, with its other facts, when a call activates it), then kept in memory as calls
/// arrive, so recording a call writes nothing.
/// </summary>
[CollectionAgeLimit(Minutes = 5)]
public sealed class CallerGrain(CallStore calls) : Grain, ICallerGrain
{
    // Null until this activation has read the caller's history.
    private Dictionary<string, PastCall>? _calls;
    private bool _blocked;

    private (string TenantId, string Caller) Key => Common.TenantKey.Parse(this.GetPrimaryKeyString());

    /// <summary>The caller's calls by id: as <paramref name="stored"/> says when this activation has none yet, else read.</summary>
    private async ValueTask<Dictionary<string, PastCall>> Calls(CallerHistory? stored = null)
    {
        if (_calls is null)
        {
            stored ??= await calls.CallerAsync(Key.TenantId, Key.Caller);
            _calls = stored.Calls.ToDictionary(c => c.CallId, StringComparer.Ordinal);
            _blocked = stored.Blocked;
        }
        return _calls;
    }

    public async Task<CallerFacts> RecordCall(string callId, string? locationId, DateTime at, CallerVisit? visit = null, CallerHistory? stored = null)
    {
        var known = await Calls(stored);
        known.TryAdd(callId, new PastCall(callId, locationId, at, visit, null));
        // What was true before this call, whatever order calls were recorded in.
        var before = known.Values.Where(c => c.CallId != callId && (c.At < at || (c.At == at && string.CompareOrdinal(c.CallId, callId) < 0))).ToList();
        return new CallerFacts(_blocked, before.Count == 0, before.All(c => c.LocationId != locationId),
            before.Count == 0 ? null : before.Max(c => c.At), before.Where(c => c.Visit is not null).MaxBy(c => c.At)?.Visit);
    }

    public async Task SetBlocked(bool blocked, string? reason)
    {
        // Read first, so that a history a call's start read before this change cannot bring the old state back.
        await Calls();
        await calls.SetBlockedAsync(Key.TenantId, Key.Caller, blocked, blocked ? reason : null);
        _blocked = blocked;
    }

    public async Task<int> ShortCallsUpTo(string callId, int seconds, int shortSeconds, TimeSpan window)
    {
        var known = await Calls();
        if (!known.TryGetValue(callId, out var call)) return 0;
        known[callId] = call = call with { EndedSeconds = seconds };
        return known.Values.Count(c => c.EndedSeconds < shortSeconds && c.At <= call.At && c.At > call.At - window);
    }

    public Task Forget()
    {
        _calls = null;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
