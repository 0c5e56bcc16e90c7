using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Database;
using CallMesh.Sites;

namespace CallMesh.Silo.Api;

public static class SitesApi
{
    public static RouteGroupBuilder MapSitesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/sites/{siteKey}").WithTags("Sites").RequireAuthorization();

        group.MapPut("", async (string tenant, string siteKey, SiteConfig body, HttpContext http, IGrainFactory grains, AuditLog audit) =>
        {
            var caller = Caller.From(http.User);
            if (Access.DenyConfigure(caller, tenant, "sites") is { } denied) return denied;
            if (!Rules.IsValidId(siteKey)) return Problems.Invalid("siteKey", "must be lower-case letters, digits and dashes (at most 64).");

            var grain = grains.GetGrain<ISiteGrain>(siteKey);
            var result = await grain.Put(tenant, body);
            switch (result.Outcome)
            {
                case SaveOutcome.Invalid: return Problems.Invalid(result.Errors);
                case SaveOutcome.NotFound:
                    return Problems.Problem(StatusCodes.Status409Conflict, "site-key-taken", "This site key is in use; choose another.");
            }
            await audit.RecordAsync(tenant, "site", siteKey, caller.Subject, body);
            return Problems.Saved(result, $"/v1/tenants/{tenant}/sites/{siteKey}", (await grain.Get())!);
        }).WithSummary("Create or replace a site that runs the swap script (brand-admin).");

        group.MapGet("", async (string tenant, string siteKey, HttpContext http, IGrainFactory grains) =>
        {
            if (Access.DenyTenantWideRead(Caller.From(http.User), tenant, "site") is { } denied) return denied;
            var site = Rules.IsValidId(siteKey) ? await grains.GetGrain<ISiteGrain>(siteKey).Get() : null;
            return site is not null && site.TenantId == tenant ? Results.Ok(site) : Problems.NotFound("site");
        }).WithSummary("A site's configuration.");

        return group;
    }
}
