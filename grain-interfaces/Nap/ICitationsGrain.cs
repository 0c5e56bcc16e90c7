using CallMesh.Common;

namespace CallMesh.Nap;

/// <summary>
/// The citations of one location: where its Name-Address-Phone is published (Google Business Profile,
/// Yelp, directories) and as what. Its audit compares each with the location's canonical NAP.
/// Key: "{tenant}/{location}" (see <see cref="TenantKey"/>).
/// </summary>
public interface ICitationsGrain : IGrainWithStringKey
{
    /// <summary>Creates or replaces the citation <paramref name="key"/>; NotFound when the location does not exist.</summary>
    Task<SaveResult> Put(string key, CitationInput input);

    Task<bool> Remove(string key);

    [Orleans.Concurrency.ReadOnly]
    Task<List<Citation>> List();

    /// <summary>What is wrong with the location's published NAP; null when the location does not exist.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<List<NapFinding>?> Audit();
}

/// <summary>A listing as published: its page, the publisher, and the name, address and phone it shows.</summary>
[GenerateSerializer, Alias("callmesh.CitationInput")]
public sealed record CitationInput(
    [property: Id(0)] string? Url,
    [property: Id(1)] string? Publisher,
    [property: Id(2)] string? Name,
    [property: Id(3)] string? Address,
    [property: Id(4)] string? Phone);

/// <summary>A stored citation; <c>Phone</c> is the published phone read as E.164.</summary>
[GenerateSerializer, Alias("callmesh.Citation")]
public sealed record Citation(
    [property: Id(0)] string Key,
    [property: Id(1)] string Url,
    [property: Id(2)] string Publisher,
    [property: Id(3)] string Name,
    [property: Id(4)] string Address,
    [property: Id(5)] string Phone,
    [property: Id(6)] DateTime UpdatedAt);

/// <summary>
/// One problem with published NAP data. Severity "critical" misattributes or loses calls
/// (a pool number in a citation); "warning" hurts consistency (a name or address that differs).
/// </summary>
[GenerateSerializer, Alias("callmesh.NapFinding")]
public sealed record NapFinding(
    [property: Id(0)] string Severity,
    [property: Id(1)] string Code,
    [property: Id(2)] string Location,
    [property: Id(3)] string? Citation,
    [property: Id(4)] string? Url,
    [property: Id(5)] string Message);
