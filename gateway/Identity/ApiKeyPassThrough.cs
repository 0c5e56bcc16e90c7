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
public sealed partial class ApiKeyPassThrough(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = Request.Headers.Authorization.ToString();
        if (!key.StartsWith("Bearer " + JwtSetup.ApiKeyPrefix, StringComparison.Ordinal)) return Task.FromResult(AuthenticateResult.NoResult());
        // Only the shape the silo issues ("cmk_" + 16 hex + "_" + 64 hex) goes on: anything else costs no silo a lookup.
        if (!ApiKeyShape().IsMatch(key.AsSpan("Bearer ".Length))) return Task.FromResult(AuthenticateResult.Fail("Malformed API key."));
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(JwtSetup.SubjectClaim, "api-key")], Scheme.Name));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ProblemResponses.WriteAsync(Context, StatusCodes.Status401Unauthorized, "unauthorized", "A valid bearer token or API key is required.");

    [System.Text.RegularExpressions.GeneratedRegex("^cmk_[0-9a-f]{16}_[0-9a-f]{64}$")]
    private static partial System.Text.RegularExpressions.Regex ApiKeyShape();
}
