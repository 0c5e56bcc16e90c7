using CallMesh.Common;

namespace CallMesh.Calls;

/// <summary>
/// One caller (phone number) of one tenant: which calls it made to which location, and whether it is
/// blocked. Key: "{tenant}/{E.164 or the carrier's From}".
/// </summary>
public interface ICallerGrain : IGrainWithStringKey
{
    /// <summary>Records a call (idempotent per call id) and tells what was true of the caller before it.</summary>
    Task<CallerFacts> RecordCall(string callId, string? locationId, DateTime at);

    Task SetBlocked(bool blocked, string? reason);
}

[GenerateSerializer, Alias("callmesh.CallerFacts")]
public sealed record CallerFacts(
    [property: Id(0)] bool Blocked,
    [property: Id(1)] bool FirstTime,
    [property: Id(2)] bool FirstTimeForLocation,
    [property: Id(3)] DateTime? PreviousCallAt);
