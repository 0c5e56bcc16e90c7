using System.Security.Claims;

namespace CallMesh.Identity;

/// <summary>
/// Who is calling and what they may see: the one authorization helper every endpoint uses.
/// Rule of the contract: outside the caller's scope a resource is 404 (its existence is not
/// revealed) and an action on something visible is 403.
/// </summary>
public sealed record Caller(string Subject, string? TenantId, string Role, IReadOnlySet<string> Locations, IReadOnlySet<string> Markets,
    IReadOnlySet<string>? Scopes = null)
{
    public static Caller From(ClaimsPrincipal user)
    {
        var role = user.FindFirstValue(JwtSetup.RoleClaim) ?? "";
        // Only the API key handler makes api-key callers, from a key it checked; a user token cannot claim it.
        var isKey = role == Roles.ApiKey && user.Identity?.AuthenticationType == JwtSetup.ApiKeyScheme;
        return new Caller(
            user.FindFirstValue(JwtSetup.SubjectClaim) ?? "unknown",
            user.FindFirstValue(JwtSetup.TenantClaim),
            Roles.All.Contains(role) || isKey ? role : "",
            user.FindAll(JwtSetup.LocationsClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
            user.FindAll(JwtSetup.MarketsClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
            isKey ? user.FindAll(JwtSetup.ScopeClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal) : null);
    }

    public bool IsPlatformAdmin => Role == Roles.PlatformAdmin;

    /// <summary>May this caller know that the tenant exists at all?</summary>
    public bool SeesTenant(string tenantId) => IsPlatformAdmin || (Role != "" && TenantId == tenantId);

    /// <summary>Tenant-wide reads (every location, reports, settings); an API key needs a read scope.</summary>
    public bool SeesWholeTenant(string tenantId) =>
        SeesTenant(tenantId) && (Role is Roles.PlatformAdmin or Roles.BrandAdmin or Roles.Analyst
                                 || (Role == Roles.ApiKey && (HasScope("calls:read") || HasScope("reports:read"))));

    /// <summary>An API key's scope ("outcomes:write"); users act by role instead.</summary>
    public bool HasScope(string scope) => Role == Roles.ApiKey && Scopes is not null && Scopes.Contains(scope);

    /// <summary>An API key without the scope an endpoint needs (403); users are judged by role, never by this.</summary>
    public bool LacksScope(string scope) => Role == Roles.ApiKey && !HasScope(scope);

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
