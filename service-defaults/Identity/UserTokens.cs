using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CallMesh.Identity;

/// <summary>
/// User tokens CallMesh signs itself with a symmetric key: development tokens (`./callmesh token`, issuer callmesh-local)
/// and the gateway's short-lived tokens for a signed-in dashboard session (issuer callmesh-session). JwtSetup validates both.
/// </summary>
public static class UserTokens
{
    public static string Mint(string signingKeyHex, string? tenant, string role, IEnumerable<string>? locations = null,
        IEnumerable<string>? markets = null, string? subject = null, TimeSpan? lifetime = null,
        string issuer = JwtSetup.DevIssuer, string audience = "callmesh")
    {
        var claims = new Dictionary<string, object>
        {
            [JwtSetup.SubjectClaim] = subject ?? $"dev-{role}",
            [JwtSetup.RoleClaim] = role,
        };
        if (tenant is not null) claims[JwtSetup.TenantClaim] = tenant;
        if (locations?.ToArray() is { Length: > 0 } l) claims[JwtSetup.LocationsClaim] = l;
        if (markets?.ToArray() is { Length: > 0 } m) claims[JwtSetup.MarketsClaim] = m;

        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromHours(12)),
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Convert.FromHexString(signingKeyHex)), SecurityAlgorithms.HmacSha256),
        });
    }
}
