using CallMesh.Sites;

namespace CallMesh.Visitors;

/// <summary>
/// One visitor of one tenant's sites (a browser): its sessions, its marketing touches and the
/// numbers it holds. Key: "{tenant}/{visitorId}". State lives in callmesh.dni_sessions,
/// callmesh.touchpoints and callmesh.number_leases, written in batches before any answer.
/// </summary>
public interface IVisitorGrain : IGrainWithStringKey
{
    Task<SessionAnswer> StartOrResume(SessionStart request);

    /// <summary>Extends the visitor's leases; null when the session is unknown.</summary>
    Task<DateTime?> Heartbeat(Guid sessionId);

    Task<VisitorHistory> History();
}

/// <summary>
/// <c>NewVisitor</c>: the caller just minted the visitor id, so there is no history to load.
/// Immutable: neither side changes it after the call (its lists are the silo's cached plan and rules), so a call
/// within the silo passes it as it is instead of deep-copying it for every page view.
/// </summary>
[GenerateSerializer, Immutable, Alias("callmesh.SessionStart")]
public sealed record SessionStart(
    [property: Id(0)] string SiteKey,
    [property: Id(1)] Guid? SessionId,
    [property: Id(2)] Uri Url,
    [property: Id(3)] Uri? Referrer,
    [property: Id(4)] List<SourceRule> SourceRules,
    [property: Id(5)] List<PlannedSwap> Plan,
    [property: Id(6)] bool NewVisitor = false,
    [property: Id(7)] string? ClientKey = null);

/// <summary>Which pool answers for a number found on the page (the tenant decides, see ITenantGrain.PlanSwaps).</summary>
[GenerateSerializer, Alias("callmesh.PlannedSwap")]
public sealed record PlannedSwap(
    [property: Id(0)] string Target,
    [property: Id(1)] string PoolId,
    [property: Id(2)] string? LocationId,
    [property: Id(3)] string ResolvedBy);

/// <summary>Immutable, as <see cref="SessionStart"/>: the grain builds a new one for every answer.</summary>
[GenerateSerializer, Immutable, Alias("callmesh.SessionAnswer")]
public sealed record SessionAnswer(
    [property: Id(0)] Guid VisitorId,
    [property: Id(1)] Guid SessionId,
    [property: Id(2)] DateTime ExpiresAt,
    [property: Id(3)] List<Swap> Swaps,
    [property: Id(4)] bool IsTest);

[GenerateSerializer, Alias("callmesh.Swap")]
public sealed record Swap(
    [property: Id(0)] string Target,
    [property: Id(1)] string Number,
    [property: Id(2)] string? Location,
    [property: Id(3)] bool Overflow,
    [property: Id(4)] string ResolvedBy);

[GenerateSerializer, Alias("callmesh.Touchpoint")]
public sealed record Touchpoint(
    [property: Id(0)] Guid SessionId,
    [property: Id(1)] DateTime At,
    [property: Id(2)] string Source,
    [property: Id(3)] string Medium,
    [property: Id(4)] string? Campaign,
    [property: Id(5)] string? Keyword,
    [property: Id(6)] ClickIds ClickIds,
    [property: Id(7)] string LandingPage,
    [property: Id(8)] string? Referrer,
    [property: Id(9)] string DecidedBy);

[GenerateSerializer, Alias("callmesh.ClickIds")]
public sealed record ClickIds(
    [property: Id(0)] string? Gclid = null,
    [property: Id(1)] string? Gbraid = null,
    [property: Id(2)] string? Wbraid = null,
    [property: Id(3)] string? Msclkid = null,
    [property: Id(4)] string? Fbclid = null)
{
    public bool Any => Gclid is not null || Gbraid is not null || Wbraid is not null || Msclkid is not null || Fbclid is not null;
}

[GenerateSerializer, Alias("callmesh.VisitorSession")]
public sealed record VisitorSession(
    [property: Id(0)] Guid SessionId,
    [property: Id(1)] DateTime StartedAt,
    [property: Id(2)] string LandingUrl,
    [property: Id(3)] bool IsTest);

[GenerateSerializer, Alias("callmesh.VisitorHistory")]
public sealed record VisitorHistory(
    [property: Id(0)] List<VisitorSession> Sessions,
    [property: Id(1)] List<Touchpoint> Touches);
