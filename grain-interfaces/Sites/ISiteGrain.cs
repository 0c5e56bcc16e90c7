using CallMesh.Common;

namespace CallMesh.Sites;

/// <summary>
/// A website that runs the swap script. Key: the site key, unique across the deployment,
/// because the script knows nothing but its site key.
/// </summary>
public interface ISiteGrain : IGrainWithStringKey
{
    [Orleans.Concurrency.ReadOnly]
    Task<SiteSnapshot?> Get();

    /// <summary>Creates or replaces the site for <paramref name="tenantId"/>; NotFound if another tenant owns the key.</summary>
    Task<SaveResult> Put(string tenantId, SiteConfig config);
}

/// <summary>
/// <c>Targets</c>: numbers on the site's pages that are swapped besides the locations' own NAP
/// numbers (the brand's main line, say). Any other number on a page is never touched.
/// </summary>
[GenerateSerializer, Alias("callmesh.SiteConfig")]
public sealed record SiteConfig(
    [property: Id(0)] List<string>? Domains,
    [property: Id(1)] List<SourceRule>? SourceRules,
    [property: Id(2)] string? DefaultLocation,
    [property: Id(3)] List<string>? Targets = null);

/// <summary>
/// A site's own classification rule, checked in order before the built-in ones. It matches a
/// landing-page parameter (<c>param</c>, optionally with <c>value</c>) or a referrer host
/// (<c>referrerHost</c>, subdomains included) and names the source it means.
/// </summary>
[GenerateSerializer, Alias("callmesh.SourceRule")]
public sealed record SourceRule(
    [property: Id(0)] string? Param,
    [property: Id(1)] string? Value,
    [property: Id(2)] string? ReferrerHost,
    [property: Id(3)] string? Source,
    [property: Id(4)] string? Medium,
    [property: Id(5)] string? Campaign);

[GenerateSerializer, Alias("callmesh.SiteSnapshot")]
public sealed record SiteSnapshot(
    [property: Id(0)] string SiteKey,
    [property: Id(1)] string TenantId,
    [property: Id(2)] SiteConfig Config,
    [property: Id(3)] DateTime UpdatedAt);
