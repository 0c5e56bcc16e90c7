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
    /// caller before it.
    /// </summary>
    Task<CallerFacts> RecordCall(string callId, string? locationId, DateTime at, CallerVisit? visit = null);

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
