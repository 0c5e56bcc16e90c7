namespace CallMesh.Identity;

/// <summary>The roles a user token carries (an identity provider's own values are mapped to these at sign-in).</summary>
public static class Roles
{
    public const string PlatformAdmin = "platform-admin";
    public const string BrandAdmin = "brand-admin";
    public const string MarketManager = "market-manager";
    public const string LocationManager = "location-manager";
    public const string Analyst = "analyst";
    /// <summary>An integration's API key (not a user role: keys are issued by the API, not by the identity provider).</summary>
    public const string ApiKey = "api-key";

    public static readonly string[] All = [PlatformAdmin, BrandAdmin, MarketManager, LocationManager, Analyst];
}
