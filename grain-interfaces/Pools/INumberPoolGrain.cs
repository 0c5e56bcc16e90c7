using CallMesh.Common;

namespace CallMesh.Pools;

/// <summary>
/// A pool of tracking numbers leased to visitors, per location or brand-wide. Key: "{tenant}/{pool}".
/// Leases live in memory here and in callmesh.number_leases (written by the visitor before the
/// browser sees the number); an activation rebuilds its leases from that table.
/// </summary>
public interface INumberPoolGrain : IGrainWithStringKey
{
    Task<PoolSnapshot?> Get();

    Task<SaveResult> Put(PoolConfig config);

    /// <summary>
    /// The visitor's live number in this pool, or a free one, or the overflow number. <paramref name="clientKey"/>: the
    /// client's address (an IPv6 client's /64), whose holds the pool caps at <see cref="PoolConfig.MaxHoldsPerClient"/>.
    /// </summary>
    Task<LeaseGrant> Lease(Guid visitorId, Guid sessionId, string? clientKey = null);

    /// <summary>A heartbeat: keeps the visitor's lease alive for another idle grace period.</summary>
    Task<DateTime?> Extend(Guid visitorId);

    /// <summary>The journal refused this lease: the database knows another live holder. Never hand it out again until released.</summary>
    Task<LeaseGrant> Conflicted(Guid visitorId, Guid sessionId, string number);

    Task<PoolLoad> Load();

    /// <summary>How a call to one of this pool's numbers is matched to a hold: the rest period and late-call window in force.</summary>
    Task<LateCallRules> LateCallRules();

    /// <summary>
    /// A call to one of this pool's numbers (or its overflow number) was attributed: counts its match kind and, when it
    /// reached a visitor's hold, its delay after that visitor's last sign of life, from which the rest period is sized.
    /// </summary>
    [Orleans.Concurrency.OneWay]
    Task ObserveCall(CallObservation call);
}

[GenerateSerializer, Alias("callmesh.PoolConfig")]
public sealed record PoolConfig(
    [property: Id(0)] string? Location,
    [property: Id(1)] List<string>? Numbers,
    [property: Id(2)] int? LeaseSeconds,
    [property: Id(3)] int? IdleGraceSeconds,
    [property: Id(4)] string? OverflowNumber,
    [property: Id(5)] int? RestSeconds = null,
    [property: Id(6)] int? LateCallWindowSeconds = null,
    [property: Id(7)] int? MaxHoldsPerClient = null)
{
    /// <summary>Holds one client address may have at once unless configured: a household's devices, not a pool's worth.</summary>
    public static int DefaultMaxHoldsPerClient(int size) => Math.Max(2, (int)Math.Ceiling(size * 0.05));

    public const int DefaultLeaseSeconds = 1800;

    // What is in force when a field is left out: the one place the defaults are applied.
    public int LeaseSecondsInForce => LeaseSeconds ?? DefaultLeaseSeconds;
    public int IdleGraceSecondsInForce => IdleGraceSeconds ?? DefaultIdleGraceSeconds;
    public int LateCallWindowSecondsInForce => LateCallWindowSeconds ?? DefaultLateCallWindowSeconds;
    public int MaxHoldsPerClientInForce => MaxHoldsPerClient ?? DefaultMaxHoldsPerClient(Numbers?.Count ?? 0);

    public const int DefaultIdleGraceSeconds = 300;
    public const int DefaultLateCallWindowSeconds = 86_400;
    public const int MaxRestSeconds = 604_800;
    public const int MaxLateCallWindowSeconds = 2_592_000;
}

/// <summary>
/// The rules a late call is matched by. <c>RestSeconds</c>: how long a released number rests before it is leased again;
/// <c>RestFrom</c>: "configured", "observed" (the 99th percentile of this pool's call delays) or "default" (too few calls
/// observed yet: the lease length, or the longest delay seen if longer). <c>LateCallWindowSeconds</c>: how long after its
/// release a call still goes to the number's last holder.
/// </summary>
[GenerateSerializer, Alias("callmesh.LateCallRules")]
public sealed record LateCallRules(
    [property: Id(0)] int RestSeconds,
    [property: Id(1)] string RestFrom,
    [property: Id(2)] int LateCallWindowSeconds);

/// <summary>
/// A call as its pool counts it. <c>VisitorId</c>: whose hold it reached (live or after release), if any;
/// <c>LastSeenAt</c>: that visitor's last sign of life, as the released hold's row says (a live hold's is in the pool's memory).
/// </summary>
[GenerateSerializer, Alias("callmesh.CallObservation")]
public sealed record CallObservation(
    [property: Id(0)] string Number,
    [property: Id(1)] string Match,
    [property: Id(2)] DateTime CallAt,
    [property: Id(3)] Guid? VisitorId,
    [property: Id(4)] DateTime? LastSeenAt);

/// <summary>Call delays after the holder's last sign of life over the last 30 days, in seconds (rounded up to the histogram's bucket).</summary>
[GenerateSerializer, Alias("callmesh.CallDelays")]
public sealed record CallDelays(
    [property: Id(0)] long Observations,
    [property: Id(1)] double? P50,
    [property: Id(2)] double? P90,
    [property: Id(3)] double? P99);

[GenerateSerializer, Alias("callmesh.PoolSnapshot")]
public sealed record PoolSnapshot(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string Id,
    [property: Id(2)] PoolConfig Config,
    [property: Id(3)] DateTime UpdatedAt);

/// <summary>
/// A lease answer. <c>Overflow</c>: every number was taken and this is the pool's overflow number
/// (or, without one, the page's own number). <c>IsNew</c>: a new hold that must be journaled. <c>EarlyReuse</c>: every
/// rested number was taken, so this one was lent before its rest ended.
/// </summary>
[GenerateSerializer, Alias("callmesh.LeaseGrant")]
public sealed record LeaseGrant(
    [property: Id(0)] string PoolId,
    [property: Id(1)] string? Number,
    [property: Id(2)] bool Overflow,
    [property: Id(3)] bool IsNew,
    [property: Id(4)] DateTime LeasedAt,
    [property: Id(5)] DateTime ExpiresAt,
    [property: Id(6)] string? LocationId,
    [property: Id(7)] bool EarlyReuse = false);

[GenerateSerializer, Alias("callmesh.PoolLoad")]
public sealed record PoolLoad(
    [property: Id(0)] int Size,
    [property: Id(1)] int ActiveLeases,
    [property: Id(2)] int Free,
    [property: Id(3)] int Resting,
    [property: Id(4)] LateCallRules Rules,
    [property: Id(5)] CallDelays Delays,
    [property: Id(6)] Dictionary<string, long> Matches,
    [property: Id(7)] int RecommendedRestSeconds);
