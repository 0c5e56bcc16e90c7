using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Database;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

public static class TenantsApi
{
    public static RouteGroupBuilder MapTenantsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}").WithTags("Tenants").RequireAuthorization();
        group.MapPut("", PutTenant).WithSummary("Create or replace a tenant (platform-admin).");
        group.MapGet("", GetTenant).WithSummary("A tenant's settings.");
        group.MapPut("/conversion-rules", PutConversionRules)
            .WithSummary("Replace the brand's default conversion rules (brand-admin); a location's own rules still come first.");
        group.MapPut("/spam-rules", PutSpamRules)
            .WithSummary("Replace the brand's spam rules (brand-admin): how many calls shorter than how many seconds within how many hours.");
        group.MapGet("/audit", GetAudit).WithSummary("Who changed which configuration, newest first (brand-admin).");
        return group;
    }

    public static async Task<Results<Created<TenantResource>, Ok<TenantResource>, ValidationProblem, ProblemHttpResult>> PutTenant(
        string tenant, TenantConfig body, HttpContext http, IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (!caller.IsPlatformAdmin)
            return caller.SeesTenant(tenant) ? Problems.Forbidden("create or change tenants") : Problems.NotFound("tenant");
        if (!Rules.IsValidId(tenant))
            return Problems.Invalid("tenant", "must be lower-case letters, digits and dashes (at most 64).");

        var grain = grains.GetGrain<ITenantGrain>(tenant);
        return await ConfigurationPut.SaveAsync(audit, caller, tenant, "tenant", tenant, body, $"/v1/tenants/{tenant}",
            () => grain.Put(body), async () => ToResource((await grain.Get())!), () => Problems.NotFound("tenant"));
    }

    public static Task<Results<Ok<TenantResource>, ValidationProblem, ProblemHttpResult>> PutConversionRules(string tenant,
        ConversionRules? body, HttpContext http, IGrainFactory grains, AuditLog audit) =>
        PutPartAsync(tenant, "conversion-rules", body, http, grains, audit, grain => grain.PutConversionRules(body));

    public static Task<Results<Ok<TenantResource>, ValidationProblem, ProblemHttpResult>> PutSpamRules(string tenant,
        SpamRules? body, HttpContext http, IGrainFactory grains, AuditLog audit) =>
        PutPartAsync(tenant, "spam-rules", body, http, grains, audit, grain => grain.PutSpamRules(body));

    /// <summary>One part of a tenant that its brand admins set (the rest is the platform's): put, refused as a problem, audited.</summary>
    private static async Task<Results<Ok<TenantResource>, ValidationProblem, ProblemHttpResult>> PutPartAsync(string tenant, string part,
        object? body, HttpContext http, IGrainFactory grains, AuditLog audit, Func<ITenantGrain, Task<SaveResult>> put)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, part.Replace('-', ' ')) is { } denied) return denied;
        var grain = grains.GetGrain<ITenantGrain>(tenant);
        var saved = await put(grain);
        if (saved.Outcome == SaveOutcome.NotFound) return Problems.NotFound("tenant");
        if (saved.Outcome == SaveOutcome.Invalid) return Problems.Invalid(saved.Errors);
        await audit.RecordAsync(tenant, part, tenant, caller.Subject, body ?? new { });
        return TypedResults.Ok(ToResource((await grain.Get())!));
    }

    public static async Task<Results<Ok<TenantResource>, ProblemHttpResult>> GetTenant(string tenant, HttpContext http, IGrainFactory grains)
    {
        if (!Caller.From(http.User).SeesTenant(tenant)) return Problems.NotFound("tenant");
        return await grains.GetGrain<ITenantGrain>(tenant).Get() is { } snapshot
            ? TypedResults.Ok(ToResource(snapshot))
            : Problems.NotFound("tenant");
    }

    public static async Task<Results<Ok<AuditPage>, ProblemHttpResult>> GetAudit(string tenant, int? limit, HttpContext http, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        if (!caller.ConfiguresTenant(tenant)) return Problems.Forbidden("read the configuration audit");
        return TypedResults.Ok(new AuditPage(await audit.ListAsync(tenant, Math.Clamp(limit ?? 100, 1, 1000))));
    }

    public sealed record TenantResource(string Id, string? Name, string? TimeZone, string? Currency,
        ConversionRules? DefaultConversionRules, string? FailSafeNumber, bool RecordCalls, string? RecordingNotice, int? CallerHistoryDays,
        SpamRules SpamRules, DateTime UpdatedAt);

    public sealed record AuditPage(IReadOnlyList<AuditEntry> Items);

    private static TenantResource ToResource(TenantSnapshot t) =>
        new(t.Id, t.Config.Name, t.Config.TimeZone, t.Config.Currency, t.Config.DefaultConversionRules,
            t.Config.FailSafeNumber, t.Config.RecordCalls, t.Config.RecordingNotice, t.Config.CallerHistoryDays, t.Config.SpamRules ?? new SpamRules(),
            t.UpdatedAt);
}
