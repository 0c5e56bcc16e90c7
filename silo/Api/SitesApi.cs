using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Database;
using CallMesh.Sites;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

public static class SitesApi
{
    public static RouteGroupBuilder MapSitesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/sites").WithTags("Sites").RequireAuthorization();
        group.MapGet("", ListSites).WithSummary("The tenant's sites with their configuration (whole-tenant readers).");
        group.MapPut("/{siteKey}", PutSite).WithSummary("Create or replace a site that runs the swap script (brand-admin).");
        group.MapGet("/{siteKey}", GetSite).WithSummary("A site's configuration.");
        return group;
    }

    public static async Task<Results<Created<SiteSnapshot>, Ok<SiteSnapshot>, ValidationProblem, ProblemHttpResult>> PutSite(string tenant,
        string siteKey, SiteConfig body, HttpContext http, IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "sites") is { } denied) return denied;
        if (!Rules.IsValidId(siteKey)) return Problems.Invalid("siteKey", "must be lower-case letters, digits and dashes (at most 64).");

        var grain = grains.GetGrain<ISiteGrain>(siteKey);
        // A site key is global: one that another tenant holds is the "not found" of this put.
        return await ConfigurationPut.SaveAsync(audit, caller, tenant, "site", siteKey, body, $"/v1/tenants/{tenant}/sites/{siteKey}",
            () => grain.Put(tenant, body), async () => (await grain.Get())!,
            () => Problems.Problem(StatusCodes.Status409Conflict, "site-key-taken", "This site key is in use; choose another."));
    }

    public static async Task<Results<Ok<SiteList>, ProblemHttpResult>> ListSites(string tenant, HttpContext http, IGrainFactory grains)
    {
        if (Access.DenyTenantWideRead(Caller.From(http.User), tenant, "sites") is { } denied) return denied;
        var keys = await grains.GetGrain<ITenantGrain>(tenant).ListSites();
        var sites = await Task.WhenAll(keys.Select(k => grains.GetGrain<ISiteGrain>(k).Get()));
        List<SiteSnapshot> items = [.. sites.OfType<SiteSnapshot>().Where(s => s.TenantId == tenant)];
        return TypedResults.Ok(new SiteList(items, items.Count));
    }

    public sealed record SiteList(List<SiteSnapshot> Items, int Count);

    public static async Task<Results<Ok<SiteSnapshot>, ProblemHttpResult>> GetSite(string tenant, string siteKey, HttpContext http, IGrainFactory grains)
    {
        if (Access.DenyTenantWideRead(Caller.From(http.User), tenant, "site") is { } denied) return denied;
        var site = Rules.IsValidId(siteKey) ? await grains.GetGrain<ISiteGrain>(siteKey).Get() : null;
        return site is not null && site.TenantId == tenant ? TypedResults.Ok(site) : Problems.NotFound("site");
    }
}
