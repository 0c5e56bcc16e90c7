using CallMesh.Locations;
using CallMesh.Tenants;

namespace CallMesh.Calls;

/// <summary>A carrier account: which tenant owns it and the token that signs its webhooks.</summary>
public sealed record CarrierAccount(string AccountSid, string TenantId, string Carrier, string AuthToken);

/// <summary>What routing needs of a tracking number (a brand has thousands; every silo and the gateway hold them all).</summary>
public sealed record RoutedNumber(string TenantId, string Use, string? LocationId);

/// <summary>Everything a voice webhook needs to answer, for every tenant: small (thousands of rows), read whole.</summary>
public sealed record RoutingData(
    Dictionary<string, CarrierAccount> Accounts,
    Dictionary<string, RoutedNumber> Numbers,
    Dictionary<string, TenantConfig> Tenants,
    Dictionary<string, LocationConfig> Locations,   // "{tenant}/{location}"
    HashSet<string> Blocked,                        // "{tenant}/{caller}"
    DateTime LoadedAt,
    long Version);                                  // callmesh.routing_version when it was read
