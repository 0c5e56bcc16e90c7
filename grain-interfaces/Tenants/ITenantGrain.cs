using CallMesh.Common;

namespace CallMesh.Tenants;

/// <summary>
/// A brand (tenant): its settings and the directory of its locations. Key: the tenant id.
/// </summary>
public interface ITenantGrain : IGrainWithStringKey
{
    [Orleans.Concurrency.ReadOnly]
    Task<TenantSnapshot?> Get();

    Task<SaveResult> Put(TenantConfig config);

    /// <summary>Adds or updates a location in the tenant's directory (called by the location itself).</summary>
    Task IndexLocation(LocationIndexEntry entry);

    /// <summary>Adds or updates a pool in the tenant's directory (called by the pool itself).</summary>
    Task IndexPool(string poolId, string? locationId);

    /// <summary>Adds a site to the tenant's directory (called by the site itself), so the dashboard can list them.</summary>
    Task IndexSite(string siteKey);

    /// <summary>Replaces the brand's default conversion rules alone (brand admins may; the rest of the tenant is the platform's).</summary>
    Task<SaveResult> PutConversionRules(ConversionRules? rules);

    /// <summary>Replaces the brand's spam rules alone (brand admins may).</summary>
    Task<SaveResult> PutSpamRules(SpamRules? rules);

    /// <summary>Every pool of the tenant with its location (null: brand-wide), ordered by id.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<PoolIndexEntry>> ListPools();

    /// <summary>The keys of the tenant's sites, ordered.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<string>> ListSites();

    /// <summary>Every location of the tenant with its market, ordered by id.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<LocationIndexEntry>> ListLocations();

    /// <summary>A location's conversion rules changed: the tenant's rules version moves on (docs/history.md).</summary>
    Task ConversionRulesChanged();

    /// <summary>
    /// Which pool answers for each number found on a page. A location's own NAP number is swapped
    /// from that location's pool (and kept when it has none). A site target
    /// (<paramref name="siteTargets"/>) is swapped from the pool of the first location found by:
    /// the page URL matching a location's pagePatterns ("page"), the visitor's explicit geo, nearest
    /// location within its service radius ("geo", or "cdn-geo" from trusted CDN headers), the site's default location ("site-default"),
    /// else from the brand-wide pool ("brand-pool"). Any other number is left out: the page keeps it.
    /// </summary>
    [Orleans.Concurrency.ReadOnly]
    Task<List<Visitors.PlannedSwap>> PlanSwaps(List<string> targets, string? defaultLocation, List<string> siteTargets, PageContext page);
}

[GenerateSerializer, Alias("callmesh.TenantConfig")]
public sealed record TenantConfig(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? TimeZone,
    [property: Id(2)] string? Currency,
    [property: Id(3)] ConversionRules? DefaultConversionRules,
    [property: Id(4)] string? FailSafeNumber = null,
    [property: Id(5)] bool RecordCalls = false,
    [property: Id(6)] string? RecordingNotice = null,
    [property: Id(7)] int? CallerHistoryDays = null,
    [property: Id(8)] SpamRules? SpamRules = null);

/// <summary>
/// When a call is spam: the caller's <c>RepeatedCalls</c>-th call (or later) within <c>WithinHours</c> that ended shorter than
/// <c>ShortCallSeconds</c>; a blocked caller's calls always are. Spam calls never qualify. Left out, the defaults hold.
/// </summary>
[GenerateSerializer, Alias("callmesh.SpamRules")]
public sealed record SpamRules(
    [property: Id(0)] int ShortCallSeconds = 10,
    [property: Id(1)] int RepeatedCalls = 3,
    [property: Id(2)] int WithinHours = 24,
    [property: Id(3)] bool Enabled = true);

/// <summary>
/// When a call counts as a qualified call. Every condition that is set must hold.
/// </summary>
[GenerateSerializer, Alias("callmesh.ConversionRules")]
public sealed record ConversionRules(
    [property: Id(0)] bool RequireAnswered = false,
    [property: Id(1)] int? MinDurationSeconds = null,
    [property: Id(2)] bool FirstTimeCallerOnly = false,
    [property: Id(3)] int? UniqueCallerWithinDays = null,
    [property: Id(4)] bool WithinBusinessHours = false,
    [property: Id(5)] List<string>? Outcomes = null);

/// <summary><c>RulesVersion</c> counts changes of the tenant's or any location's conversion rules: reports say which
/// version their history reflects.</summary>
[GenerateSerializer, Alias("callmesh.TenantSnapshot")]
public sealed record TenantSnapshot(
    [property: Id(0)] string Id,
    [property: Id(1)] TenantConfig Config,
    [property: Id(2)] DateTime UpdatedAt,
    [property: Id(3)] int RulesVersion = 0);

[GenerateSerializer, Alias("callmesh.PoolIndexEntry")]
public sealed record PoolIndexEntry([property: Id(0)] string PoolId, [property: Id(1)] string? LocationId);

/// <summary>What scope checks and swap planning need to know of a location without asking it.</summary>
[GenerateSerializer, Alias("callmesh.LocationIndexEntry")]
public sealed record LocationIndexEntry(
    [property: Id(0)] string LocationId,
    [property: Id(1)] string? Market,
    [property: Id(2)] string? NapPhone = null,
    [property: Id(3)] List<string>? PagePatterns = null,
    [property: Id(4)] double? Lat = null,
    [property: Id(5)] double? Lon = null,
    [property: Id(6)] double? ServiceRadiusMiles = null)
{
    // Records compare lists by reference; the index only needs to know whether anything changed.
    public bool Same(LocationIndexEntry other) =>
        this with { PagePatterns = null } == other with { PagePatterns = null }
        && (PagePatterns ?? []).SequenceEqual(other.PagePatterns ?? []);
}

/// <summary>
/// The page asking for numbers: its URL path, and where the visitor may be, most trusted first
/// (<see cref="VisitorPlace.Source"/>: "geo" the page passed itself, "cdn-geo" from a trusted CDN's
/// headers, "ip-geo" from the client address). Swap planning uses the first place that some
/// location's service radius reaches.
/// </summary>
[GenerateSerializer, Alias("callmesh.PageContext")]
public sealed record PageContext(
    [property: Id(0)] string Path,
    [property: Id(4)] List<VisitorPlace>? Places = null)
{
    public PageContext(string path, double lat, double lon, string source = "geo") : this(path, [new VisitorPlace(lat, lon, source)]) { }
}

[GenerateSerializer, Alias("callmesh.VisitorPlace")]
public sealed record VisitorPlace(
    [property: Id(0)] double Lat,
    [property: Id(1)] double Lon,
    [property: Id(2)] string Source);
