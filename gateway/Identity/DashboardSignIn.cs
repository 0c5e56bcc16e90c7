using System.Security.Claims;
using CallMesh.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;

namespace CallMesh.Gateway.Identity;

/// <summary>
/// Sign-in to the dashboard with the company's OpenID Connect provider (authorization code flow with PKCE), the gateway
/// as the backend for the frontend: the provider's tokens stay in the gateway's encrypted, http-only, same-site session
/// cookie and never reach page script. The dashboard's API calls carry that cookie and the X-CallMesh-Session header (a
/// cross-site page cannot send it without a CORS preflight, which the gateway refuses); the gateway swaps them for a
/// five-minute token of the session's CallMesh claims, so the silos check scopes exactly as for any bearer token.
/// Off unless Oidc:Authority is set; token paste and `./callmesh token` keep working beside it.
/// </summary>
public static class DashboardSignIn
{
    public const string CookieScheme = "CallMeshSession";
    public const string OidcScheme = "Oidc";
    public const string SessionHeader = "X-CallMesh-Session";
    public const string CookieName = "__Host-callmesh-session";
    private static readonly TimeSpan SiloTokenLifetime = TimeSpan.FromMinutes(5);

    public static bool IsConfigured(IConfiguration configuration) => !string.IsNullOrEmpty(configuration["Oidc:Authority"]);

    public static AuthenticationBuilder AddDashboardSignIn(this AuthenticationBuilder auth, IConfiguration configuration)
    {
        if (!IsConfigured(configuration)) return auth;
        var settings = configuration.GetSection("Oidc").Get<OidcSettings>()!;
        if (string.IsNullOrEmpty(settings.ClientId))
            throw new InvalidOperationException("Oidc:Authority is set without Oidc:ClientId (CALLMESH_OIDC__CLIENTID).");
        if (string.IsNullOrEmpty(configuration["Auth:SessionSigningKeyHex"]))
            throw new InvalidOperationException(
                "Dashboard sign-in needs Auth:SessionSigningKeyHex (CALLMESH_AUTH__SESSIONSIGNINGKEYHEX) on the gateway and every silo.");
        auth.Services.AddSingleton(settings);
        auth.Services.AddSingleton<SessionRefresh>();
        SharedKeyRing.Use(auth.Services, configuration["Auth:SessionSigningKeyHex"]!);

        return auth
            .AddCookie(CookieScheme, o =>
            {
                // __Host-: only this origin, only over a secure connection (browsers count http://localhost as one).
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
                // Lax, not Strict: the provider's redirect back is a cross-site navigation that must find the session.
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.ExpireTimeSpan = TimeSpan.FromHours(settings.SessionHours);
                o.SlidingExpiration = false;
                o.Events.OnValidatePrincipal = context => context.HttpContext.RequestServices.GetRequiredService<SessionRefresh>().ValidateAsync(context);
                // The dashboard asks with fetch: answers, not redirects.
                o.Events.OnRedirectToLogin = context => ProblemResponses.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized,
                    "unauthorized", "Sign in to the dashboard.");
            })
            .AddOpenIdConnect(OidcScheme, o =>
            {
                o.Authority = settings.Authority;
                o.RequireHttpsMetadata = settings.Authority!.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
                o.ClientId = settings.ClientId;
                o.ClientSecret = settings.ClientSecret;
                o.ResponseType = "code";
                o.UsePkce = true;
                // The code comes back on a top-level GET, which carries the Lax correlation and nonce cookies.
                o.ResponseMode = "query";
                o.CorrelationCookie.SameSite = o.NonceCookie.SameSite = SameSiteMode.Lax;
                o.CorrelationCookie.SecurePolicy = o.NonceCookie.SecurePolicy = CookieSecurePolicy.Always;
                o.CallbackPath = "/dashboard/signin-oidc";
                o.SignedOutCallbackPath = "/dashboard/signout-oidc";
                o.SignInScheme = CookieScheme;
                o.SaveTokens = true;   // the refresh token, in the encrypted cookie, for SessionRefresh
                o.MapInboundClaims = false;
                o.GetClaimsFromUserInfoEndpoint = true;
                o.Scope.Clear();
                foreach (var scope in settings.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries)) o.Scope.Add(scope);
                foreach (var claim in new[] { settings.TenantClaim, settings.RoleClaim, settings.LocationsClaim, settings.MarketsClaim })
                    o.ClaimActions.MapJsonKey(claim, claim);
                o.Events.OnTicketReceived = context =>
                {
                    context.Principal = new ClaimsPrincipal(SessionClaims.From(context.Principal!.Claims, settings, CookieScheme));
                    return Task.CompletedTask;
                };
                o.Events.OnRemoteFailure = context =>
                {
                    // A refused consent or a stale sign-in link: back to the dashboard, which says so, not an error page.
                    context.HandleResponse();
                    context.Response.Redirect("/dashboard/?signInFailed=" + Uri.EscapeDataString(context.Failure?.Message ?? "sign-in failed"));
                    return Task.CompletedTask;
                };
            });
    }

    /// <summary>For /v1/ requests with the session cookie and header but no Authorization: the session's silo token.</summary>
    public static IApplicationBuilder UseDashboardSessions(this IApplicationBuilder app)
    {
        var configuration = app.ApplicationServices.GetRequiredService<IConfiguration>();
        if (!IsConfigured(configuration)) return app;
        var key = configuration["Auth:SessionSigningKeyHex"]!;
        var audience = configuration["Auth:Audience"] ?? "callmesh";   // as JwtSetup validates it
        return app.Use(async (http, next) =>
        {
            var request = http.Request;
            if (request.Path.StartsWithSegments("/v1") && request.Headers.Authorization.Count == 0
                && request.Headers.ContainsKey(SessionHeader) && request.Cookies.ContainsKey(CookieName))
            {
                var session = await http.AuthenticateAsync(CookieScheme);
                if (session.Succeeded && session.Principal.HasClaim(c => c.Type == JwtSetup.RoleClaim))
                    request.Headers.Authorization = "Bearer " + SessionClaims.Token(session.Principal, key, audience, SiloTokenLifetime);
                else if (session.Succeeded)
                {
                    await ProblemResponses.WriteAsync(http, StatusCodes.Status403Forbidden, "no-callmesh-role",
                        "Your account has no CallMesh role: ask your brand's administrator for access.");
                    return;
                }
            }
            await next(http);
        });
    }

    public static IEndpointRouteBuilder MapDashboardSignIn(this IEndpointRouteBuilder routes)
    {
        var configured = IsConfigured(routes.ServiceProvider.GetRequiredService<IConfiguration>());

        // Who is signed in, for the page (it cannot read the cookie); never cached.
        routes.MapGet("/dashboard/session", async (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            if (!configured) return Results.Ok(new SessionResource(false, false, null, null, null, null, [], []));
            var session = await http.AuthenticateAsync(CookieScheme);
            if (!session.Succeeded) return Results.Ok(new SessionResource(true, false, null, null, null, null, [], []));
            var user = session.Principal;
            return Results.Ok(new SessionResource(true, true, user.FindFirstValue(JwtSetup.SubjectClaim), user.FindFirstValue(SessionClaims.NameClaim),
                user.FindFirstValue(JwtSetup.TenantClaim), user.FindFirstValue(JwtSetup.RoleClaim),
                user.FindAll(JwtSetup.LocationsClaim).Select(c => c.Value).ToArray(), user.FindAll(JwtSetup.MarketsClaim).Select(c => c.Value).ToArray()));
        });
        if (!configured) return routes;

        routes.MapGet("/dashboard/sign-in", (string? returnUrl) => Results.Challenge(
            new AuthenticationProperties
            {
                RedirectUri = returnUrl is { Length: > 0 } && returnUrl.StartsWith("/dashboard/", StringComparison.Ordinal)
                && !returnUrl.StartsWith("//", StringComparison.Ordinal) ? returnUrl : "/dashboard/"
            },
            [OidcScheme]));

        // Ends the session here, and gives the page the provider's end-session address to go to (a fetch cannot follow a
        // redirect to another origin). POST with the session header, so another site cannot sign a user out.
        routes.MapPost("/dashboard/sign-out", async (HttpContext http, IOptionsMonitor<OpenIdConnectOptions> oidc) =>
        {
            if (!http.Request.Headers.ContainsKey(SessionHeader))
                return ProblemResponses.Result(StatusCodes.Status400BadRequest, "session-header-missing", $"Send the {SessionHeader} header.");
            var session = await http.AuthenticateAsync(CookieScheme);
            await http.SignOutAsync(CookieScheme);
            var options = oidc.Get(OidcScheme);
            var metadata = await options.ConfigurationManager!.GetConfigurationAsync(http.RequestAborted);
            if (!session.Succeeded || string.IsNullOrEmpty(metadata.EndSessionEndpoint)) return Results.Ok(new SignedOutResource("/dashboard/"));
            var back = $"{http.Request.Scheme}://{http.Request.Host}/dashboard/";
            var end = QueryString.Create(new Dictionary<string, string?>
            {
                ["client_id"] = options.ClientId, ["post_logout_redirect_uri"] = back,
                ["id_token_hint"] = session.Properties?.GetTokenValue("id_token"),
            });
            return Results.Ok(new SignedOutResource(metadata.EndSessionEndpoint + end));
        });
        return routes;
    }
}

public sealed record SessionResource(bool SignInAvailable, bool SignedIn, string? Subject, string? Name, string? Tenant, string? Role,
    string[] Locations, string[] Markets);

public sealed record SignedOutResource(string Redirect);
