using System.Security.Claims;
using CallMesh.Identity;

namespace CallMesh.Gateway.Identity;

/// <summary>
/// Configuration section "Oidc" (CALLMESH_OIDC__…): the company identity provider the dashboard signs in with, and which of
/// its claims say a user's tenant, role, markets and locations (docs/dashboard.md#sign-in).
/// </summary>
public sealed class OidcSettings
{
    public string? Authority { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
    public string Scopes { get; set; } = "openid profile offline_access";

    /// <summary>Every user of this provider belongs to this tenant (a brand's own directory); else TenantClaim says.</summary>
    public string? Tenant { get; set; }
    public string TenantClaim { get; set; } = "tenant";

    /// <summary>The claim with the user's role or groups; each value is a CallMesh role or an entry of RoleMap.</summary>
    public string RoleClaim { get; set; } = "role";

    /// <summary>
    /// The provider's values (app roles, group ids or names) that give a CallMesh role: "value=role" entries separated by
    /// ';' or new lines, e.g. "Bluebonnet Admins=brand-admin; 3f2c…-group-id=location-manager". One setting, because group
    /// names hold spaces and ids hold dashes, which environment variable names cannot.
    /// </summary>
    public string? RoleMap { get; set; }

    internal Dictionary<string, string> Roles() => (RoleMap ?? "")
        .Split([';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(entry => entry.Split('=', 2, StringSplitOptions.TrimEntries))
        .Where(pair => pair.Length == 2 && pair[0].Length > 0)
        .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
    public string LocationsClaim { get; set; } = "locations";
    public string MarketsClaim { get; set; } = "markets";
    public double SessionHours { get; set; } = 12;
}

/// <summary>
/// The session's identity: the provider's claims mapped to CallMesh's (sub, name, tenant, role, locations, markets). A user
/// whose claims give no CallMesh role is signed in without one: the dashboard says so, and no API call is made for them.
/// </summary>
public static class SessionClaims
{
    public const string NameClaim = "name";

    // The most a user's claims give wins when several map (a brand admin who is also in a store's group).
    private static readonly string[] ByPrecedence = [Roles.PlatformAdmin, Roles.BrandAdmin, Roles.MarketManager, Roles.LocationManager, Roles.Analyst];

    public static ClaimsIdentity From(IEnumerable<Claim> provider, OidcSettings settings, string authenticationType)
    {
        var claims = provider.ToList();
        // Lists come as repeated claims (JSON arrays) or, from some providers, one space- or comma-separated value; group
        // and role names may hold spaces, so only ids are split.
        IEnumerable<string> Values(string type) => claims.Where(c => c.Type == type).Select(c => c.Value).Distinct();
        IEnumerable<string> Ids(string type) => Values(type)
            .SelectMany(v => v.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct();

        var identity = new ClaimsIdentity(authenticationType, JwtSetup.SubjectClaim, JwtSetup.RoleClaim);
        var subject = claims.FirstOrDefault(c => c.Type == JwtSetup.SubjectClaim)?.Value
                      ?? throw new InvalidOperationException("The identity provider's token has no sub claim.");
        identity.AddClaim(new Claim(JwtSetup.SubjectClaim, subject));
        identity.AddClaim(new Claim(NameClaim, claims.FirstOrDefault(c => c.Type is "name" or "preferred_username" or "email")?.Value ?? subject));

        var map = settings.Roles();
        var roles = Values(settings.RoleClaim).Select(v => map.GetValueOrDefault(v) ?? v).ToHashSet(StringComparer.Ordinal);
        var role = ByPrecedence.FirstOrDefault(roles.Contains);
        var tenant = settings.Tenant ?? Ids(settings.TenantClaim).FirstOrDefault();
        // A role without a tenant is no role (but a platform admin's, which spans tenants).
        if (role is not null && (tenant is not null || role == Roles.PlatformAdmin)) identity.AddClaim(new Claim(JwtSetup.RoleClaim, role));
        if (tenant is not null) identity.AddClaim(new Claim(JwtSetup.TenantClaim, tenant));
        foreach (var location in Ids(settings.LocationsClaim)) identity.AddClaim(new Claim(JwtSetup.LocationsClaim, location));
        foreach (var market in Ids(settings.MarketsClaim)) identity.AddClaim(new Claim(JwtSetup.MarketsClaim, market));
        return identity;
    }

    /// <summary>A short-lived token for the silos with the session's claims, signed with the session key, for the API's audience.</summary>
    public static string Token(ClaimsPrincipal session, string signingKeyHex, string audience, TimeSpan lifetime) => UserTokens.Mint(signingKeyHex,
        session.FindFirstValue(JwtSetup.TenantClaim), session.FindFirstValue(JwtSetup.RoleClaim)!,
        session.FindAll(JwtSetup.LocationsClaim).Select(c => c.Value), session.FindAll(JwtSetup.MarketsClaim).Select(c => c.Value),
        session.FindFirstValue(JwtSetup.SubjectClaim), lifetime, JwtSetup.SessionIssuer, audience);
}
