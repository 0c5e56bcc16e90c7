using CallMesh.Common;

namespace CallMesh.Locations;

/// <summary>
/// One physical location of a brand: its NAP data, where its calls ring, its hours.
/// Key: "{tenant}/{location}" (see <see cref="Common.TenantKey"/>).
/// </summary>
public interface ILocationGrain : IGrainWithStringKey
{
    [Orleans.Concurrency.ReadOnly]
    Task<LocationSnapshot?> Get();

    Task<SaveResult> Put(LocationConfig config);
}

[GenerateSerializer, Alias("callmesh.LocationConfig")]
public sealed record LocationConfig(
    [property: Id(0)] string? Name,
    [property: Id(1)] PostalAddress? Address,
    [property: Id(2)] string? NapPhone,
    [property: Id(3)] string? ForwardTo,
    [property: Id(4)] string? TimeZone,
    [property: Id(5)] List<OpeningHours>? BusinessHours,
    [property: Id(6)] string? AfterHoursForwardTo,
    [property: Id(7)] GeoPoint? Geo,
    [property: Id(8)] double? ServiceRadiusMiles,
    [property: Id(9)] string? Market,
    [property: Id(10)] List<string>? PagePatterns,
    [property: Id(11)] Tenants.ConversionRules? ConversionRules = null,
    [property: Id(12)] List<RingStep>? RingSteps = null,
    [property: Id(13)] bool Voicemail = false,
    [property: Id(14)] string? Whisper = null,
    [property: Id(15)] string? TextForwardTo = null,
    [property: Id(16)] string? RecordingNotice = null);

/// <summary>
/// One step of a location's ring strategy: its numbers ring together (one rings alone) for <c>TimeoutSeconds</c>; when
/// nobody answers, the next step rings. Left out, a location's strategy is its <c>ForwardTo</c> alone.
/// </summary>
[GenerateSerializer, Alias("callmesh.RingStep")]
public sealed record RingStep(
    [property: Id(0)] List<string>? Numbers,
    [property: Id(1)] int? TimeoutSeconds = null);

[GenerateSerializer, Alias("callmesh.PostalAddress")]
public sealed record PostalAddress(
    [property: Id(0)] string? Line1,
    [property: Id(1)] string? City,
    [property: Id(2)] string? Region,
    [property: Id(3)] string? PostalCode,
    [property: Id(4)] string? Country);

/// <summary>One opening interval on a weekday, in the location's local time ("08:00" to "17:30").</summary>
[GenerateSerializer, Alias("callmesh.OpeningHours")]
public sealed record OpeningHours(
    [property: Id(0)] string? Day,
    [property: Id(1)] string? Open,
    [property: Id(2)] string? Close);

[GenerateSerializer, Alias("callmesh.GeoPoint")]
public sealed record GeoPoint(
    [property: Id(0)] double? Lat,
    [property: Id(1)] double? Lon);

[GenerateSerializer, Alias("callmesh.LocationSnapshot")]
public sealed record LocationSnapshot(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string Id,
    [property: Id(2)] LocationConfig Config,
    [property: Id(3)] DateTime UpdatedAt);
