using CallMesh.Common;
using CallMesh.Dni;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Tenants;

namespace CallMesh.Pools;

/// <summary>
/// Leases a pool's numbers to visitors. Rules:
/// - a hold lasts at least LeaseSeconds, and until IdleGraceSeconds after the visitor's last sign of life;
/// - a visitor with a live hold gets the same number again;
/// - a number is never held by two visitors (and the database refuses it too);
/// - a released number goes to the back of the line and rests (<see cref="LateCallRules"/>): the least recently
///   released is leased first, so a late call to a released number still finds its last holder
///   (docs/attribution.md); only when no rested number is left is a resting one lent, flagged as an early reuse;
/// - when every number is held, the answer is the overflow number, counted; a lease never fails.
/// Holds live in memory and in callmesh.number_leases, from which an activation restores them. The pool also
/// keeps how long after their visitor's last sign of life its calls came, which sizes the rest.
/// </summary>
public sealed class NumberPoolGrain(
    [PersistentState("pool", "callmesh")] IPersistentState<NumberPoolGrain.State> stored,
    DniStore store, DniJournal journal, NumberDirectory directory, TimeProvider clock, CallMeshMetrics metrics) : Grain, INumberPoolGrain
{
    private static readonly TimeSpan OverflowRetryAfter = TimeSpan.FromMinutes(2);
    // Below this many calls in 30 days a 99th percentile says little: the rest is the default.
    public const int MinObservations = 100;
    private static readonly TimeSpan SaveCallsEvery = TimeSpan.FromMinutes(1);

    private sealed class Hold(Guid visitorId, Guid sessionId, DateTime leasedAt, DateTime expiresAt, string? clientKey = null)
    {
        // Whose address leased it (not kept in the row: a hold restored after a restart counts for nobody).
        public string? ClientKey { get; } = clientKey;
        public Guid VisitorId { get; } = visitorId;
        public Guid SessionId { get; } = sessionId;
        public DateTime LeasedAt { get; } = leasedAt;
        public DateTime ExpiresAt { get; set; } = expiresAt;
        // Unknown for a hold restored from its row (heartbeats are not written anywhere) until the visitor's next sign of life.
        public DateTime? LastSeen { get; set; } = leasedAt;
    }

    private readonly Dictionary<string, Hold> _holds = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, string> _byVisitor = [];
    private readonly Dictionary<string, int> _byClient = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _free = new();                 // first = released longest ago
    private readonly Dictionary<string, LinkedListNode<string>> _freeNodes = new(StringComparer.Ordinal);
    // When each number was last released (absent: never leased), for its rest.
    private readonly Dictionary<string, DateTime> _releasedAt = new(StringComparer.Ordinal);
    private CallStatistics _calls = new();
    // The rules in force, worked out again when a call is counted, the configuration changes, or they are a while old.
    private (LateCallRules Rules, DateTime At)? _rules;
    private bool _callsDirty;
    private DateTime _callsSavedAt;
    // Expiry candidates; an entry is stale when its hold was extended or released since.
    private readonly PriorityQueue<string, DateTime> _expiries = new();

    private (string TenantId, string Id)? _key;
    private string TenantId => (_key ??= TenantKey.Parse(this.GetPrimaryKeyString())).TenantId;
    private string PoolId => (_key ??= TenantKey.Parse(this.GetPrimaryKeyString())).Id;
    // The configured numbers as a set: releases and conflicts ask "still ours?" of pools of thousands.
    private HashSet<string> _numbers = new(StringComparer.Ordinal);
    private PoolConfig? Config => stored.State.Config;
    private TimeSpan LeaseTime => TimeSpan.FromSeconds(Config?.LeaseSecondsInForce ?? PoolConfig.DefaultLeaseSeconds);
    private TimeSpan IdleGrace => TimeSpan.FromSeconds(Config?.IdleGraceSecondsInForce ?? PoolConfig.DefaultIdleGraceSeconds);
    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _calls = new CallStatistics(stored.State.Calls);
        if (Config is not null)
        {
            _numbers = Config.Numbers!.ToHashSet(StringComparer.Ordinal);
            await RestoreAsync();
        }
        // Releases are journaled on time even when no visitor arrives; the pool stays active meanwhile.
        this.RegisterGrainTimer(SweepAsync, new GrainTimerCreationOptions(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)) { KeepAlive = true });
    }

    public Task<PoolSnapshot?> Get() => Task.FromResult(
        Config is { } config ? new PoolSnapshot(TenantId, PoolId, config, stored.State.UpdatedAt) : null);

    public Task<PoolLoad> Load()
    {
        var rules = Rules();
        var rested = Now - TimeSpan.FromSeconds(rules.RestSeconds);
        var resting = _free.Reverse().TakeWhile(n => _releasedAt.TryGetValue(n, out var at) && at > rested).Count();
        return Task.FromResult(new PoolLoad(Config?.Numbers?.Count ?? 0, _holds.Count, _free.Count, resting, rules, Delays(),
            _calls.Matches(Now.AddDays(-CallStatistics.Days)), ObservedRest().Seconds));
    }

    public Task<LateCallRules> LateCallRules() => Task.FromResult(Rules());

    public Task ObserveCall(CallObservation call)
    {
        _calls.AddMatch(call.CallAt, call.Match);
        // A live hold's last sign of life is in memory (heartbeats are not written anywhere); a released one's came with its row.
        var seen = call.VisitorId is { } visitor && _holds.TryGetValue(call.Number, out var hold) && hold.VisitorId == visitor
            ? hold.LastSeen
            : call.LastSeenAt;
        if (call.VisitorId is not null && seen is { } at) _calls.AddDelay(call.CallAt, (call.CallAt - at).TotalSeconds);
        (_callsDirty, _rules) = (true, null);
        return Task.CompletedTask;
    }

    private CallDelays Delays() => _calls.Delays(Now.AddDays(-CallStatistics.Days));

    /// <summary>The rest: as configured, else what the calls say (see <see cref="CallMesh.Pools.LateCallRules"/>).</summary>
    private LateCallRules Rules()
    {
        // Every lease asks (is the next number rested?): summing 30 days of histograms each time would be wasted.
        if (_rules is { } cached && Now - cached.At < TimeSpan.FromMinutes(10)) return cached.Rules;
        var rules = WorkOutRules();
        _rules = (rules, Now);
        return rules;
    }

    private LateCallRules WorkOutRules()
    {
        var window = Config?.LateCallWindowSecondsInForce ?? PoolConfig.DefaultLateCallWindowSeconds;
        if (Config?.RestSeconds is { } configured) return new LateCallRules(configured, "configured", window);
        var (rest, from) = ObservedRest();
        return new LateCallRules(rest, from, window);
    }

    /// <summary>
    /// The 99th percentile of call delays after the visitor's last activity, at least the idle grace; with fewer than
    /// <see cref="MinObservations"/> calls, the lease length, or the longest delay seen when longer.
    /// </summary>
    private (int Seconds, string From) ObservedRest()
    {
        var delays = Delays();
        var (rest, from) = delays.Observations >= MinObservations
            ? (Math.Max(delays.P99!.Value, IdleGrace.TotalSeconds), "observed")
            : (Math.Max(LeaseTime.TotalSeconds, delays.Observations > 0 ? delays.P99!.Value : 0), "default");
        return ((int)Math.Min(Math.Ceiling(rest), PoolConfig.MaxRestSeconds), from);
    }

    public async Task<SaveResult> Put(PoolConfig config)
    {
        var errors = PoolRules.Validate(config);
        if (config.Location is { } location && !errors.Any
            && await GrainFactory.GetGrain<ILocationGrain>(TenantKey.For(TenantId, location)).Get() is null)
            errors.Add("location", $"no location '{location}' in this tenant.");
        if (errors.Any) return SaveResult.Invalid(errors.ToDictionary());
        if (await GrainFactory.GetGrain<ITenantGrain>(TenantId).Get() is null) return SaveResult.NotFound;

        var conflicts = await directory.AssignPoolAsync(TenantId, PoolId, config.Location, config.Numbers!, config.OverflowNumber);
        if (conflicts.Count > 0)
        {
            foreach (var (number, message) in conflicts)
                errors.Add(number == config.OverflowNumber ? "overflowNumber" : $"numbers[{config.Numbers!.IndexOf(number)}]", message);
            return SaveResult.Invalid(errors.ToDictionary());
        }

        var created = Config is null;
        stored.State = new State { Config = config, UpdatedAt = Now, Calls = _calls.ToState() };
        await stored.WriteStateAsync();
        _callsDirty = false;
        _numbers = config.Numbers!.ToHashSet(StringComparer.Ordinal);
        _rules = null;
        ApplyNumbers(config.Numbers!);
        await GrainFactory.GetGrain<ITenantGrain>(TenantId).IndexPool(PoolId, config.Location);
        return created ? SaveResult.Created : SaveResult.Updated;
    }

    public async Task<LeaseGrant> Lease(Guid visitorId, Guid sessionId, string? clientKey = null)
    {
        if (Config is null) throw new InvalidOperationException($"Pool {PoolId} of {TenantId} is not configured.");
        var now = Now;
        await ReleaseExpiredAsync(now);

        if (_byVisitor.TryGetValue(visitorId, out var held))
        {
            var hold = _holds[held];
            Extend(held, hold, now);
            return Grant(held, hold, isNew: false);
        }
        // One address may hold only so many numbers at once: a script that mints visitors cannot drain the pool, it
        // gets the overflow number (the page still rings the location) like a visitor past the pool's size.
        var capped = clientKey is not null
                     && _byClient.GetValueOrDefault(clientKey) >= (Config.MaxHoldsPerClient ?? PoolConfig.DefaultMaxHoldsPerClient(_numbers.Count));
        // The least recently released number: when even it has not rested, none has, and it is lent early.
        if (!capped && _free.First is { } next)
        {
            var early = _releasedAt.TryGetValue(next.Value, out var releasedAt) && now - releasedAt < TimeSpan.FromSeconds(Rules().RestSeconds);
            TakeFree(next.Value);
            var hold = new Hold(visitorId, sessionId, now, now + Max(LeaseTime, IdleGrace), clientKey);
            AddHold(next.Value, hold);
            metrics.LeaseGranted(TenantId, PoolId, overflow: false, early);
            return Grant(next.Value, hold, isNew: true) with { EarlyReuse = early };
        }
        metrics.LeaseGranted(TenantId, PoolId, overflow: true, earlyReuse: false);
        return new LeaseGrant(PoolId, Config.OverflowNumber, Overflow: true, IsNew: true, now, now + OverflowRetryAfter, Config.Location);
    }

    public Task<DateTime?> Extend(Guid visitorId)
    {
        if (!_byVisitor.TryGetValue(visitorId, out var number)) return Task.FromResult<DateTime?>(null);
        var hold = _holds[number];
        Extend(number, hold, Now);
        return Task.FromResult<DateTime?>(hold.ExpiresAt);
    }

    public async Task<LeaseGrant> Conflicted(Guid visitorId, Guid sessionId, string number)
    {
        // We believed the number free, the database knows a live holder (e.g. a lease journaled by
        // a previous activation after we restored). Adopt the database's view, then lease again.
        if (_holds.TryGetValue(number, out var ours) && ours.VisitorId == visitorId) RemoveHold(number);
        if (await store.LoadHolderAsync(TenantId, number) is { } holder && !_holds.ContainsKey(number))
        {
            TakeFree(number);
            AddHold(number, new Hold(holder.VisitorId, holder.SessionId, holder.LeasedAt, Max(holder.LeasedAt + LeaseTime, Now + IdleGrace)) { LastSeen = null });
        }
        else if (!_holds.ContainsKey(number) && !_freeNodes.ContainsKey(number) && _numbers.Contains(number))
        {
            _freeNodes[number] = _free.AddLast(number);
        }
        return await Lease(visitorId, sessionId);
    }

    private async Task SweepAsync(CancellationToken _)
    {
        await ReleaseExpiredAsync(Now);
        if (_callsDirty && Now - _callsSavedAt >= SaveCallsEvery) await SaveCallsAsync();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_callsDirty) await SaveCallsAsync();
    }

    /// <summary>Statistics, not records: a minute of observations may be lost with a silo, and a failed write is tried again later.</summary>
    private async Task SaveCallsAsync()
    {
        _callsSavedAt = Now;
        if (Config is null) return;
        try
        {
            stored.State = stored.State with { Calls = _calls.ToState() };
            await stored.WriteStateAsync();
            _callsDirty = false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database is away (it answers every call from memory meanwhile); the next sweep tries again.
        }
    }

    private async Task ReleaseExpiredAsync(DateTime now)
    {
        List<ReleaseRow>? released = null;
        while (_expiries.TryPeek(out var number, out var at) && at <= now)
        {
            _expiries.Dequeue();
            if (!_holds.TryGetValue(number, out var hold) || hold.ExpiresAt > now || hold.ExpiresAt != at) continue;
            (released ??= []).Add(new ReleaseRow(TenantId, number, hold.VisitorId, hold.ExpiresAt, hold.LastSeen));
        }
        if (released is null) return;
        // Durable before the number can be leased again: the next hold must not overlap this one.
        await journal.WriteAsync(new JournalEntry([], [], [], released));
        foreach (var release in released)
        {
            RemoveHold(release.Number);
            _releasedAt[release.Number] = release.ReleasedAt;
            if (_numbers.Contains(release.Number)) _freeNodes[release.Number] = _free.AddLast(release.Number);
        }
    }

    private async Task RestoreAsync()
    {
        var (live, lastReleased) = await store.LoadPoolAsync(TenantId, PoolId);
        var now = Now;
        // We cannot know when these visitors were last seen: assume now, so a restored hold never ends early.
        foreach (var lease in live)
            AddHold(lease.Number, new Hold(lease.VisitorId, lease.SessionId, lease.LeasedAt, Max(lease.LeasedAt + LeaseTime, now + IdleGrace)) { LastSeen = null });
        var order = Config!.Numbers!.Where(n => !_holds.ContainsKey(n))
            .OrderBy(n => lastReleased.TryGetValue(n, out var at) ? at : DateTime.MinValue).ThenBy(n => n, StringComparer.Ordinal);
        foreach (var number in order) _freeNodes[number] = _free.AddLast(number);
        foreach (var (number, at) in lastReleased) _releasedAt[number] = at;
    }

    private void ApplyNumbers(List<string> numbers)
    {
        foreach (var gone in _freeNodes.Keys.Where(n => !_numbers.Contains(n)).ToList()) TakeFree(gone);
        // New numbers were never leased: they go first. Held numbers that left the pool finish their hold.
        foreach (var number in numbers.Where(n => !_holds.ContainsKey(n) && !_freeNodes.ContainsKey(n)).Reverse())
            _freeNodes[number] = _free.AddFirst(number);
    }

    private void Extend(string number, Hold hold, DateTime now)
    {
        hold.LastSeen = hold.LastSeen is { } seen ? Max(seen, now) : now;
        var until = Max(hold.ExpiresAt, now + IdleGrace);
        if (until == hold.ExpiresAt) return;
        hold.ExpiresAt = until;
        _expiries.Enqueue(number, until);
    }

    private void AddHold(string number, Hold hold)
    {
        _holds[number] = hold;
        _byVisitor[hold.VisitorId] = number;
        if (hold.ClientKey is { } client) _byClient[client] = _byClient.GetValueOrDefault(client) + 1;
        _expiries.Enqueue(number, hold.ExpiresAt);
    }

    private void RemoveHold(string number)
    {
        if (!_holds.Remove(number, out var hold)) return;
        if (_byVisitor.TryGetValue(hold.VisitorId, out var n) && n == number) _byVisitor.Remove(hold.VisitorId);
        if (hold.ClientKey is { } client && _byClient.TryGetValue(client, out var count))
        {
            if (count <= 1) _byClient.Remove(client); else _byClient[client] = count - 1;
        }
    }

    private void TakeFree(string number)
    {
        if (_freeNodes.Remove(number, out var node)) _free.Remove(node);
    }

    private LeaseGrant Grant(string number, Hold hold, bool isNew) =>
        new(PoolId, number, Overflow: false, isNew, hold.LeasedAt, hold.ExpiresAt, Config!.Location);

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [GenerateSerializer, Alias("callmesh.NumberPoolGrain.State")]
    public sealed record State
    {
        [Id(0)] public PoolConfig? Config { get; init; }
        [Id(1)] public DateTime UpdatedAt { get; init; }
        /// <summary>Calls per day (<see cref="CallStatistics"/>).</summary>
        [Id(2)] public Dictionary<string, CallStatistics.Day>? Calls { get; init; }
    }
}
