using System.Security.Claims;

namespace CallMesh.Identity;

public static class Roles
{
    public const string PlatformAdmin = "platform-admin";
    public const string BrandAdmin = "brand-admin";
    public const string MarketManager = "market-manager";
    public const string LocationManager = "location-manager";
    public const string Analyst = "analyst";

    public static readonly string[] All = [PlatformAdmin, BrandAdmin, MarketManager, LocationManager, Analyst];
}

/// <summary>
/// Who is calling and what they may see: the one authorization helper every endpoint uses.
/// Rule of the contract: outside the caller's scope a resource is 404 (its existence is not
/// revealed) and an action on something visible is 403.
/// </summary>
public sealed record Caller(string Subject, string? TenantId, string Role, IReadOnlySet<string> Locations, IReadOnlySet<string> Markets)
{
    public static Caller From(ClaimsPrincipal user)
    {
        var role = user.FindFirstValue(JwtSetup.RoleClaim) ?? "";
        return new Caller(
            user.FindFirstValue(JwtSetup.SubjectClaim) ?? "unknown",
            user.FindFirstValue(JwtSetup.TenantClaim),
            Roles.All.Contains(role) ? role : "",
            user.FindAll(JwtSetup.LocationsClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
            user.FindAll(JwtSetup.MarketsClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal));
    }

    public bool IsPlatformAdmin => Role == Roles.PlatformAdmin;

    /// <summary>May this caller know that the tenant exists at all?</summary>
    public bool SeesTenant(string tenantId) => IsPlatformAdmin || (Role != "" && TenantId == tenantId);

    /// <summary>Tenant-wide reads (every location, reports, settings).</summary>
    public bool SeesWholeTenant(string tenantId) =>
        SeesTenant(tenantId) && Role is Roles.PlatformAdmin or Roles.BrandAdmin or Roles.Analyst;

    public bool SeesLocation(string tenantId, string locationId, string? market) =>
        SeesWholeTenant(tenantId)
        || (SeesTenant(tenantId) && Role switch
        {
            Roles.LocationManager => Locations.Contains(locationId),
            Roles.MarketManager => (market is not null && Markets.Contains(market)) || Locations.Contains(locationId),
            _ => false,
        });

    /// <summary>Configuration writes inside a tenant.</summary>
    public bool ConfiguresTenant(string tenantId) => SeesTenant(tenantId) && Role is Roles.PlatformAdmin or Roles.BrandAdmin;
}
