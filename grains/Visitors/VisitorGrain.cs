using CallMesh.Common;
using CallMesh.Dni;
using CallMesh.Locations;
using CallMesh.Pools;

namespace CallMesh.Visitors;

/// <summary>
/// A visitor's sessions and marketing touches, and the numbers it holds. Nothing is answered
/// before the new session, touch and lease rows are durable (one batched write).
/// A touch is recorded for a new session from any source but direct (a visitor's very first
/// session counts even when direct) and, within a session, for a new paid click.
/// Memory keeps only what answering needs (each session's test flag and last touch): the silo holds every visitor of
/// the last idle minutes, and the garbage collector marks them all in each background collection (docs/perf/dni.md).
/// The whole history is in callmesh.dni_sessions and callmesh.touchpoints, durable before any answer; History reads it.
/// </summary>
// A visitor is first called by the silo that took its HTTP request (the gateway spreads those):
// activating it right there saves a placement decision and a network hop.
[Orleans.Placement.PreferLocalPlacement]
// An open page heartbeats every minute; five idle minutes mean the visitor left (its rows reload it if it returns).
[CollectionAgeLimit(Minutes = 5)]
public sealed class VisitorGrain(DniStore store, DniJournal journal, GrainReferences references, TimeProvider clock) : Grain, IVisitorGrain
{
    private const string TestParameter = "callmesh_test";
    private const int MaxConflictRetries = 3;
    // A visitor opens a few sessions a day; a script reusing one visitor id to write rows opens hundreds a minute.
    public const int MaxNewSessionsPerMinute = 20;

    private readonly Dictionary<Guid, SessionMemo> _sessions = [];
    private readonly HashSet<string> _pools = new(StringComparer.Ordinal);
    private readonly Queue<DateTime> _newSessions = new();   // when this activation opened its recent sessions
    private Guid? _latestSession;

    /// <summary>A session as answering needs it: whether it is a test, and what a new paid click is compared with.</summary>
    private sealed class SessionMemo(bool isTest)
    {
        public bool IsTest { get; } = isTest;
        public (string Source, string? Campaign, ClickIds ClickIds)? LastTouch { get; set; }
    }

    private (string TenantId, Guid VisitorId)? _key;
    private (string TenantId, Guid VisitorId) Key => _key ??= ParseKey(this.GetPrimaryKeyString());
    private string TenantId => Key.TenantId;
    private Guid VisitorId => Key.VisitorId;

    private static (string TenantId, Guid VisitorId) ParseKey(string key)
    {
        var (tenant, visitor) = TenantKey.Parse(key);
        return (tenant, Guid.Parse(visitor));
    }

    private bool _loaded;

    /// <summary>History is read on first use, not on activation: a visitor the API just minted has none.</summary>
    private async Task EnsureLoadedAsync(bool knownNew = false)
    {
        if (_loaded) return;
        _loaded = true;
        if (knownNew) return;
        var (history, leases) = await store.LoadVisitorAsync(TenantId, VisitorId);
        foreach (var session in history.Sessions)
        {
            _sessions[session.SessionId] = new SessionMemo(session.IsTest);
            _latestSession = session.SessionId;   // oldest first
        }
        foreach (var touch in history.Touches) Remember(touch);   // oldest first, so each session keeps its last
        foreach (var lease in leases) _pools.Add(lease.PoolId);
    }

    public async Task<SessionAnswer> StartOrResume(SessionStart request)
    {
        await EnsureLoadedAsync(request.NewVisitor);
        var now = clock.GetUtcNow().UtcDateTime;
        var sessions = new List<SessionRow>();
        var touches = new List<TouchRow>();

        var query = SourceClassifier.QueryOf(request.Url);
        Guid sessionId;
        SessionMemo session;
        while (_newSessions.TryPeek(out var opened) && now - opened > TimeSpan.FromMinutes(1)) _newSessions.Dequeue();
        if (request.SessionId is { } known && _sessions.TryGetValue(known, out var resumed))
            (sessionId, session) = (known, resumed);
        // Past the cap a new session is the latest one again: the visitor is served, and the database gets no new rows.
        else if (_newSessions.Count >= MaxNewSessionsPerMinute && _latestSession is { } latest && _sessions.TryGetValue(latest, out var last))
            (sessionId, session) = (latest, last);
        else
        {
            var isTest = query.GetValueOrDefault(TestParameter) is "1" or "true";
            // A time-ordered id (UUIDv7), as for visitors (see DniApi): new rows land at the right edge of the session index.
            (sessionId, session) = (Guid.CreateVersion7(), new SessionMemo(isTest));
            sessions.Add(new SessionRow(sessionId, TenantId, VisitorId, request.SiteKey, now, request.Url.ToString(),
                request.Referrer?.ToString(), isTest));
        }

        var source = SourceClassifier.Classify(request.Url, request.Referrer, request.SourceRules, query);
        if (IsNewTouch(source, session, isNewSession: sessions.Count > 0))
            touches.Add(new TouchRow(TenantId, VisitorId, new Touchpoint(sessionId, now, source.Source, source.Medium,
                source.Campaign, source.Keyword, source.ClickIds, request.Url.GetLeftPart(UriPartial.Path), request.Referrer?.ToString(),
                source.DecidedBy)));

        var grants = await LeaseAsync(request.Plan.Select(p => p.PoolId).Distinct().ToList(), sessionId, request.ClientKey, sessions, touches);

        // Only now, with everything durable, does this grain's memory move on.
        if (sessions.Count > 0)
        {
            _sessions[sessionId] = session;
            _latestSession = sessionId;
            _newSessions.Enqueue(now);
        }
        foreach (var touch in touches) Remember(touch.Touch);
        _pools.UnionWith(grants.Values.Where(g => !g.Overflow).Select(g => g.PoolId));

        var swaps = request.Plan.Select(p => (Plan: p, Grant: grants[p.PoolId]))
            .Select(x => new Swap(x.Plan.Target, x.Grant.Number ?? x.Plan.Target, x.Grant.LocationId ?? x.Plan.LocationId,
                x.Grant.Overflow, x.Plan.ResolvedBy))
            .ToList();
        var expiresAt = grants.Count > 0 ? grants.Values.Min(g => g.ExpiresAt) : now;
        return new SessionAnswer(VisitorId, sessionId, expiresAt, swaps, session.IsTest);
    }

    public async Task<DateTime?> Heartbeat(Guid sessionId)
    {
        await EnsureLoadedAsync();
        if (!_sessions.ContainsKey(sessionId)) return null;
        var expiries = await Task.WhenAll(_pools.Select(pool =>
            references.Get<INumberPoolGrain>(TenantKey.For(TenantId, pool)).Extend(VisitorId)));
        var live = expiries.OfType<DateTime>().ToList();
        return live.Count > 0 ? live.Min() : clock.GetUtcNow().UtcDateTime;
    }

    /// <summary>Every session and touch, from the database: a call's attribution asks this once, minutes after the visit.</summary>
    public async Task<VisitorHistory> History()
    {
        return await store.LoadHistoryAsync(TenantId, VisitorId);
    }

    private void Remember(Touchpoint touch)
    {
        if (_sessions.TryGetValue(touch.SessionId, out var session)) session.LastTouch = (touch.Source, touch.Campaign, touch.ClickIds);
    }

    private bool IsNewTouch(SourceClassifier.Classification source, SessionMemo session, bool isNewSession)
    {
        // A visitor's very first session is a touch even when direct (any touch leaves some session a last touch).
        if (isNewSession) return !source.IsDirect || !_sessions.Values.Any(s => s.LastTouch is not null);
        if (!source.IsPaidClick) return false;
        // Within a session only a different paid click is a new touch (a reload of the same ad URL is not).
        return session.LastTouch is not { } last
            || last.ClickIds != source.ClickIds || last.Campaign != source.Campaign || last.Source != source.Source;
    }

    /// <summary>Leases from every pool the page needs, journals the new holds with the session rows, re-leases refused ones.</summary>
    private async Task<Dictionary<string, LeaseGrant>> LeaseAsync(List<string> poolIds, Guid sessionId, string? clientKey,
        List<SessionRow> sessions, List<TouchRow> touches)
    {
        var pools = poolIds.ToDictionary(id => id, id => references.Get<INumberPoolGrain>(TenantKey.For(TenantId, id)));
        var grants = (await Task.WhenAll(pools.Values.Select(p => p.Lease(VisitorId, sessionId, clientKey)))).ToDictionary(g => g.PoolId);
        var unwritten = grants.Values.Where(g => g.IsNew && g.Number is not null).ToList();
        for (var attempt = 0; ; attempt++)
        {
            var rows = unwritten.Select(g => new LeaseRow(TenantId, g.PoolId, g.Number!, g.Overflow ? LeaseKind.Overflow : LeaseKind.Lease,
                VisitorId, sessionId, g.LocationId, g.LeasedAt, g.EarlyReuse)).ToList();
            if (rows.Count + sessions.Count + touches.Count == 0) return grants;
            var refused = await journal.WriteAsync(new JournalEntry(sessions, touches, rows, []));
            if (refused.Count == 0) return grants;
            if (attempt == MaxConflictRetries)
                throw new InvalidOperationException($"Numbers {string.Join(", ", refused)} stayed refused by the lease journal.");

            // Everything else in that entry is committed; only the refused holds are leased and written again.
            (sessions, touches, unwritten) = ([], [], []);
            foreach (var grant in rows.Where(r => refused.Contains(r.Number)).Select(r => grants[r.PoolId]))
            {
                var again = await pools[grant.PoolId].Conflicted(VisitorId, sessionId, grant.Number!);
                grants[grant.PoolId] = again;
                if (again.IsNew && again.Number is not null) unwritten.Add(again);
            }
        }
    }
}
