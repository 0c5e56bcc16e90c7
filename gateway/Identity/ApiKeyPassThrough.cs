using System.Security.Claims;
using System.Text.Encodings.Web;
using CallMesh.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CallMesh.Gateway.Identity;

/// <summary>
/// The gateway holds no key store: a well-formed "Bearer cmk_…" passes on to a silo, which checks the key
/// against callmesh.api_keys (hashed) and its scopes on every request, as it re-checks user tokens.
/// </summary>
public sealed class ApiKeyPassThrough(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = Request.Headers.Authorization.ToString();
        if (!key.StartsWith("Bearer " + JwtSetup.ApiKeyPrefix, StringComparison.Ordinal)) return Task.FromResult(AuthenticateResult.NoResult());
        if (key.Length > 128) return Task.FromResult(AuthenticateResult.Fail("Malformed API key."));
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(JwtSetup.SubjectClaim, "api-key")], Scheme.Name));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }
}
