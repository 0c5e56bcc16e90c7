using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace CallMesh.Identity;

/// <summary>
/// How CallMesh validates user tokens; compiled into both the gateway and the silo so the
/// two can never disagree. Production: an OIDC issuer (Auth:Authority + Auth:Audience), and the gateway's dashboard
/// session tokens when Auth:SessionSigningKeyHex is set (docs/dashboard.md).
/// Local: HS256 tokens signed with Auth:DevSigningKeyHex, minted by `./callmesh token`.
/// </summary>
public static class JwtSetup
{
    public const string SubjectClaim = "sub";
    public const string TenantClaim = "tenant";
    public const string RoleClaim = "role";
    public const string LocationsClaim = "locations";
    public const string MarketsClaim = "markets";
    public const string ScopeClaim = "scope";

    /// <summary>Development tokens (`./callmesh token`), signed with Auth:DevSigningKeyHex.</summary>
    public const string DevIssuer = "callmesh-local";

    /// <summary>The gateway's short-lived tokens for a signed-in dashboard session, signed with Auth:SessionSigningKeyHex.</summary>
    public const string SessionIssuer = "callmesh-session";

    /// <summary>Integration keys ("Bearer cmk_…") go to this scheme; every other bearer token is a user's JWT.</summary>
    public const string ApiKeyScheme = "ApiKey";
    public const string ApiKeyPrefix = "cmk_";
    private const string Selector = "CallMesh";

    /// <summary>A signed-in user (a JWT or an API key): the policy of every endpoint that is not anonymous.</summary>
    public static AuthorizationPolicy UserPolicy { get; } = new AuthorizationPolicyBuilder(Selector).RequireAuthenticatedUser().Build();

    public static AuthenticationBuilder AddCallMeshJwt(this IServiceCollection services, IConfiguration configuration)
    {
        var auth = configuration.GetSection("Auth");
        var authority = auth["Authority"];
        var devKey = auth["DevSigningKeyHex"];
        if (string.IsNullOrEmpty(authority) && string.IsNullOrEmpty(devKey))
            throw new InvalidOperationException(
                "Configure Auth:Authority (an OIDC issuer) or, for a local deployment, Auth:DevSigningKeyHex (CALLMESH_AUTH__DEVSIGNINGKEYHEX).");

        // No default authenticate scheme: a request is authenticated only where its endpoint's policy asks for a user
        // (UserPolicy names the scheme). The anonymous DNI and carrier calls, most of the traffic, construct no handlers.
        return services.AddAuthentication(o =>
            {
                o.DefaultChallengeScheme = Selector;
                o.DefaultForbidScheme = Selector;
            })
            .AddPolicyScheme(Selector, "JWT or API key", o => o.ForwardDefaultSelector = http =>
                http.Request.Headers.Authorization.ToString().StartsWith("Bearer " + ApiKeyPrefix, StringComparison.Ordinal)
                    ? ApiKeyScheme
                    : JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(options =>
        {
            // Keep claim names as issued ("role", "tenant"), not mapped to WS-* URIs.
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                NameClaimType = SubjectClaim,
                RoleClaimType = RoleClaim,
                ValidAudience = auth["Audience"] ?? "callmesh",
                ClockSkew = TimeSpan.FromSeconds(30),
            };
            // The symmetric keys CallMesh signs with itself (deployment secrets) and their issuers. With an Authority, the
            // handler adds the provider's issuer and keys to these.
            var issuers = new List<string>();
            var keys = new List<SecurityKey>();
            if (!string.IsNullOrEmpty(authority))
            {
                options.Authority = authority;
                options.RequireHttpsMetadata = authority.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            }
            else
            {
                issuers.Add(auth["Issuer"] ?? DevIssuer);
                keys.Add(new SymmetricSecurityKey(Convert.FromHexString(devKey!)));
            }
            if (auth["SessionSigningKeyHex"] is { Length: > 0 } sessionKey)
            {
                issuers.Add(SessionIssuer);
                keys.Add(new SymmetricSecurityKey(Convert.FromHexString(sessionKey)));
            }
            options.TokenValidationParameters.ValidIssuers = issuers;
            options.TokenValidationParameters.IssuerSigningKeys = keys;
            options.Events = new JwtBearerEvents
            {
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    await ProblemResponses.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "unauthorized",
                        "A valid bearer token is required.");
                },
                OnForbidden = context => ProblemResponses.WriteAsync(context.HttpContext, StatusCodes.Status403Forbidden, "forbidden",
                    "This token may not do that."),
            };
        });
    }
}
