using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CallMesh.Gateway.Identity;

/// <summary>
/// Keeps a dashboard session honest: once the provider's access token has expired, the session's next request redeems the
/// refresh token at the provider and maps the claims again, so a role taken away or a user disabled in the company's
/// directory ends their CallMesh access within one token lifetime, not at the end of the cookie. A refused refresh ends
/// the session. Concurrent requests of one session share one refresh (a reused refresh token may revoke the grant).
/// </summary>
public sealed class SessionRefresh(IOptionsMonitor<OpenIdConnectOptions> oidc, OidcSettings settings, TimeProvider clock, ILogger<SessionRefresh> logger)
{
    private static readonly TimeSpan Early = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, Lazy<Task<Refreshed?>>> _inFlight = new(StringComparer.Ordinal);

    private sealed record Refreshed(ClaimsPrincipal Principal, AuthenticationToken[] Tokens);

    /// <summary>The provider could not be reached: the session stays as it is, and its next request tries again.</summary>
    private static readonly Refreshed Unavailable = new(new ClaimsPrincipal(), []);

    public async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var properties = context.Properties;
        if (DateTimeOffset.TryParse(properties.GetTokenValue("expires_at"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expires)
            && expires - Early > clock.GetUtcNow()) return;

        var refreshToken = properties.GetTokenValue("refresh_token");
        // Keyed by the cookie's version (token and expiry), not the token alone: providers that do not rotate refresh
        // tokens hand back the same one, and the renewed cookie must refresh again when its own time comes.
        var version = refreshToken + " " + properties.GetTokenValue("expires_at");
        var refreshed = refreshToken is null ? null : await _inFlight.GetOrAdd(version, _ => new(() => RefreshAsync(version, refreshToken, properties))).Value;
        if (ReferenceEquals(refreshed, Unavailable)) return;
        if (refreshed is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(DashboardSignIn.CookieScheme);
            return;
        }
        context.ReplacePrincipal(refreshed.Principal);
        properties.StoreTokens(refreshed.Tokens);
        context.ShouldRenew = true;
    }

    private async Task<Refreshed?> RefreshAsync(string version, string refreshToken, AuthenticationProperties properties)
    {
        // Requests still carrying the old cookie within a minute get the same answer; then the entry goes.
        _ = Task.Delay(TimeSpan.FromMinutes(1), clock).ContinueWith(_ => _inFlight.TryRemove(version, out Lazy<Task<Refreshed?>>? _), TaskScheduler.Default);
        var options = oidc.Get(DashboardSignIn.OidcScheme);
        try
        {
            var metadata = await options.ConfigurationManager!.GetConfigurationAsync(CancellationToken.None);
            using var response = await options.Backchannel.PostAsync(metadata.TokenEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken,
                ["client_id"] = options.ClientId!, ["client_secret"] = options.ClientSecret ?? "",
            }));
            if (!response.IsSuccessStatusCode)
            {
                logger.LogInformation("The identity provider refused to refresh a dashboard session ({Status}): it ends", (int)response.StatusCode);
                return null;
            }
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            string? Value(string name) => body.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var accessToken = Value("access_token");
            var idToken = Value("id_token") ?? properties.GetTokenValue("id_token");
            if (accessToken is null || idToken is null) return null;

            // The new ID token is checked like the first (issuer, audience, signature; its lifetime may have passed when
            // the provider reissues the old one), and the user info read again: the claims a role comes from.
            var validated = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
            {
                ValidIssuer = metadata.Issuer, ValidAudience = options.ClientId, IssuerSigningKeys = metadata.SigningKeys, ValidateLifetime = false,
            });
            if (!validated.IsValid) return null;
            var claims = validated.ClaimsIdentity.Claims.ToList();
            if (!string.IsNullOrEmpty(metadata.UserInfoEndpoint))
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, metadata.UserInfoEndpoint);
                request.Headers.Authorization = new("Bearer", accessToken);
                using var userInfo = await options.Backchannel.SendAsync(request);
                if (!userInfo.IsSuccessStatusCode) return null;
                using var json = JsonDocument.Parse(await userInfo.Content.ReadAsStringAsync());
                claims.RemoveAll(c => json.RootElement.TryGetProperty(c.Type, out _));
                foreach (var property in json.RootElement.EnumerateObject())
                    claims.AddRange(property.Value.ValueKind == JsonValueKind.Array
                        ? property.Value.EnumerateArray().Select(v => new Claim(property.Name, v.ToString()))
                        : [new Claim(property.Name, property.Value.ToString())]);
            }

            var expiresIn = body.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 300;
            var now = clock.GetUtcNow();
            return new Refreshed(new ClaimsPrincipal(SessionClaims.From(claims, settings, DashboardSignIn.CookieScheme)),
            [
                new() { Name = "access_token", Value = accessToken },
                new() { Name = "id_token", Value = idToken },
                new() { Name = "refresh_token", Value = Value("refresh_token") ?? refreshToken },
                new() { Name = "token_type", Value = Value("token_type") ?? "Bearer" },
                new() { Name = "expires_at", Value = (now + TimeSpan.FromSeconds(expiresIn)).ToString("o", CultureInfo.InvariantCulture) },
            ]);
        }
        catch (Exception error) when (error is HttpRequestException or JsonException or InvalidOperationException or TaskCanceledException)
        {
            // Keep the session rather than sign everyone out during the provider's outage: its claims are as old as the
            // outage. The next request tries again.
            logger.LogWarning(error, "Could not refresh a dashboard session at the identity provider");
            _inFlight.TryRemove(version, out _);
            return Unavailable;
        }
    }
}
