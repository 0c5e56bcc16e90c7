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

    /// <summary>The visitor's live number in this pool, or a free one, or the overflow number.</summary>
    Task<LeaseGrant> Lease(Guid visitorId, Guid sessionId);

    /// <summary>A heartbeat: keeps the visitor's lease alive for another idle grace period.</summary>
    Task<DateTime?> Extend(Guid visitorId);

    /// <summary>The journal refused this lease: the database knows another live holder. Never hand it out again until released.</summary>
    Task<LeaseGrant> Conflicted(Guid visitorId, Guid sessionId, string number);

    Task<PoolLoad> Load();
}

[GenerateSerializer, Alias("callmesh.PoolConfig")]
public sealed record PoolConfig(
    [property: Id(0)] string? Location,
    [property: Id(1)] List<string>? Numbers,
    [property: Id(2)] int? LeaseSeconds,
    [property: Id(3)] int? IdleGraceSeconds,
    [property: Id(4)] string? OverflowNumber)
{
    public const int DefaultLeaseSeconds = 1800;
    public const int DefaultIdleGraceSeconds = 300;
}

[GenerateSerializer, Alias("callmesh.PoolSnapshot")]
public sealed record PoolSnapshot(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string Id,
    [property: Id(2)] PoolConfig Config,
    [property: Id(3)] DateTime UpdatedAt);

/// <summary>
/// A lease answer. <c>Overflow</c>: every number was taken and this is the pool's overflow number
/// (or, without one, the page's own number). <c>IsNew</c>: a new hold that must be journaled.
/// </summary>
[GenerateSerializer, Alias("callmesh.LeaseGrant")]
public sealed record LeaseGrant(
    [property: Id(0)] string PoolId,
    [property: Id(1)] string? Number,
    [property: Id(2)] bool Overflow,
    [property: Id(3)] bool IsNew,
    [property: Id(4)] DateTime LeasedAt,
    [property: Id(5)] DateTime ExpiresAt,
    [property: Id(6)] string? LocationId);

[GenerateSerializer, Alias("callmesh.PoolLoad")]
public sealed record PoolLoad(
    [property: Id(0)] int Size,
    [property: Id(1)] int ActiveLeases,
    [property: Id(2)] int Free);
