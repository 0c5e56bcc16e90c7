using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Database;
using CallMesh.Tenants;

namespace CallMesh.Silo.Api;

public static class TenantsApi
{
    public static RouteGroupBuilder MapTenantsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}").WithTags("Tenants").RequireAuthorization();

        group.MapPut("", async (string tenant, TenantConfig body, HttpContext http, IGrainFactory grains, AuditLog audit) =>
        {
            var caller = Caller.From(http.User);
            if (!caller.IsPlatformAdmin)
                return caller.SeesTenant(tenant) ? Problems.Forbidden("create or change tenants") : Problems.NotFound("tenant");
            if (!Rules.IsValidId(tenant))
                return Problems.Invalid("tenant", "must be lower-case letters, digits and dashes (at most 64).");

            var grain = grains.GetGrain<ITenantGrain>(tenant);
            var result = await grain.Put(body);
            if (result.Outcome == SaveOutcome.Invalid) return Problems.Invalid(result.Errors);

            await audit.RecordAsync(tenant, "tenant", tenant, caller.Subject, body);
            return Problems.Saved(result, $"/v1/tenants/{tenant}", ToResource((await grain.Get())!));
        }).WithSummary("Create or replace a tenant (platform-admin).");

        group.MapGet("", async (string tenant, HttpContext http, IGrainFactory grains) =>
        {
            var caller = Caller.From(http.User);
            if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
            return await grains.GetGrain<ITenantGrain>(tenant).Get() is { } snapshot
                ? Results.Ok(ToResource(snapshot))
                : Problems.NotFound("tenant");
        }).WithSummary("A tenant's settings.");

        group.MapGet("/audit", async (string tenant, int? limit, HttpContext http, AuditLog audit) =>
        {
            var caller = Caller.From(http.User);
            if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
            if (!caller.ConfiguresTenant(tenant)) return Problems.Forbidden("read the configuration audit");
            return Results.Ok(new { items = await audit.ListAsync(tenant, Math.Clamp(limit ?? 100, 1, 1000)) });
        }).WithSummary("Who changed which configuration, newest first (brand-admin).");

        return group;
    }

    public sealed record TenantResource(string Id, string? Name, string? TimeZone, string? Currency,
        ConversionRules? DefaultConversionRules, string? FailSafeNumber, bool RecordCalls, string? RecordingNotice, int? CallerHistoryDays,
        DateTime UpdatedAt);

    private static TenantResource ToResource(TenantSnapshot t) =>
        new(t.Id, t.Config.Name, t.Config.TimeZone, t.Config.Currency, t.Config.DefaultConversionRules,
            t.Config.FailSafeNumber, t.Config.RecordCalls, t.Config.RecordingNotice, t.Config.CallerHistoryDays, t.UpdatedAt);
}
