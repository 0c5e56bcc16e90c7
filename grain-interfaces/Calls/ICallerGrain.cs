using CallMesh.Common;

namespace CallMesh.Calls;

/// <summary>
/// One caller (phone number) of one tenant: which calls it made to which location, and whether it is
/// blocked. Key: "{tenant}/{E.164 or the carrier's From}".
/// </summary>
public interface ICallerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records a call (idempotent per call id) and the visit it was credited to, if any, and tells what was true of the
    /// caller before it. <paramref name="stored"/>: the caller's history as the call's start read it with its other facts
    /// (one round trip for all), which a new activation takes instead of reading it again; an active one ignores it.
    /// </summary>
    Task<CallerFacts> RecordCall(string callId, string? locationId, DateTime at, CallerVisit? visit = null, CallerHistory? stored = null);

    Task SetBlocked(bool blocked, string? reason);

    /// <summary>
    /// Notes that a call of this caller ended after <paramref name="seconds"/>, and counts the caller's calls that ended
    /// shorter than <paramref name="shortSeconds"/> within <paramref name="window"/> before it, this one included.
    /// </summary>
    Task<int> ShortCallsUpTo(string callId, int seconds, int shortSeconds, TimeSpan window);

    /// <summary>The caller's data was erased: drop what this activation holds (the next one reads what is left).</summary>
    Task Forget();
}

[GenerateSerializer, Alias("callmesh.CallerFacts")]
public sealed record CallerFacts(
    [property: Id(0)] bool Blocked,
    [property: Id(1)] bool FirstTime,
    [property: Id(2)] bool FirstTimeForLocation,
    [property: Id(3)] DateTime? PreviousCallAt,
    [property: Id(4)] CallerVisit? PreviousVisit = null);

/// <summary>The visit an earlier call of this caller was credited to, and when that call came.</summary>
[GenerateSerializer, Alias("callmesh.CallerVisit")]
public sealed record CallerVisit(
    [property: Id(0)] Guid VisitorId,
    [property: Id(1)] Guid SessionId,
    [property: Id(2)] DateTime CallAt);

/// <summary>What the database holds of a caller: its calls to the tenant, and whether the tenant blocked it.</summary>
[GenerateSerializer, Alias("callmesh.CallerHistory")]
public sealed record CallerHistory([property: Id(0)] List<PastCall> Calls, [property: Id(1)] bool Blocked);

/// <summary>One earlier call of a caller. <c>EndedSeconds</c>: how long it lasted once it ended (texts and calls still going: null).</summary>
[GenerateSerializer, Alias("callmesh.PastCall")]
public sealed record PastCall(
    [property: Id(0)] string CallId,
    [property: Id(1)] string? LocationId,
    [property: Id(2)] DateTime At,
    [property: Id(3)] CallerVisit? Visit,
    [property: Id(4)] int? EndedSeconds);
