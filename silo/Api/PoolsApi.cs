using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Database;
using CallMesh.Locations;
using CallMesh.Pools;

namespace CallMesh.Silo.Api;

public static class PoolsApi
{
    public static RouteGroupBuilder MapPoolsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/pools/{pool}").WithTags("Number pools").RequireAuthorization();

        group.MapPut("", async (string tenant, string pool, PoolConfig body, HttpContext http, IGrainFactory grains, AuditLog audit) =>
        {
            var caller = Caller.From(http.User);
            if (Access.DenyConfigure(caller, tenant, "pools") is { } denied) return denied;
            if (!Rules.IsValidId(pool)) return Problems.Invalid("pool", "must be lower-case letters, digits and dashes (at most 64).");

            var grain = grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, pool));
            var result = await grain.Put(body);
            switch (result.Outcome)
            {
                case SaveOutcome.Invalid: return Problems.Invalid(result.Errors);
                case SaveOutcome.NotFound: return Problems.NotFound("tenant");
            }
            await audit.RecordAsync(tenant, "pool", pool, caller.Subject, body);
            return Problems.Saved(result, $"/v1/tenants/{tenant}/pools/{pool}", ToResource((await grain.Get())!));
        }).WithSummary("Create or replace a number pool (brand-admin). Numbers must be imported first and free of other uses.");

        group.MapGet("", async (string tenant, string pool, HttpContext http, IGrainFactory grains) =>
        {
            if (await VisiblePool(Caller.From(http.User), tenant, pool, grains) is not { } snapshot) return Problems.NotFound("pool");
            return Results.Ok(ToResource(snapshot));
        }).WithSummary("A pool's configuration.");

        group.MapGet("/health", async (string tenant, string pool, int? days, HttpContext http, IGrainFactory grains, PoolHealthQuery health) =>
        {
            if (await VisiblePool(Caller.From(http.User), tenant, pool, grains) is not { } snapshot) return Problems.NotFound("pool");
            var load = await grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, pool)).Load();
            var window = DateTime.UtcNow.AddDays(-Math.Clamp(days ?? 7, 1, 90));
            return Results.Ok(await health.ComputeAsync(tenant, pool, load, snapshot.Config.LeaseSeconds ?? PoolConfig.DefaultLeaseSeconds, window));
        }).WithSummary("Size, active and resting leases, peak holds and demand per hour, overflow and early reuses, the late-call rules in force, " +
                       "call delays and calls by match, and the recommended rest and size with their rule (default window 7 days).");

        return group;
    }

    /// <summary>A pool is visible to whole-tenant readers, and a location pool to whoever sees its location.</summary>
    private static async Task<PoolSnapshot?> VisiblePool(Caller caller, string tenant, string pool, IGrainFactory grains)
    {
        if (!caller.SeesTenant(tenant) || !Rules.IsValidId(pool)) return null;
        var snapshot = await grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, pool)).Get();
        if (snapshot is null || caller.SeesWholeTenant(tenant)) return snapshot;
        if (snapshot.Config.Location is not { } location) return null;
        var owner = await grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, location)).Get();
        return owner is not null && caller.SeesLocation(tenant, location, owner.Config.Market) ? snapshot : null;
    }

    private static object ToResource(PoolSnapshot p) => new
    {
        id = p.Id, tenant = p.TenantId, location = p.Config.Location, numbers = p.Config.Numbers,
        leaseSeconds = p.Config.LeaseSeconds ?? PoolConfig.DefaultLeaseSeconds,
        idleGraceSeconds = p.Config.IdleGraceSeconds ?? PoolConfig.DefaultIdleGraceSeconds,
        overflowNumber = p.Config.OverflowNumber,
        // Left out, the rest follows the pool's call delays and the window its default: GET .../health shows what is in force.
        restSeconds = p.Config.RestSeconds, lateCallWindowSeconds = p.Config.LateCallWindowSeconds ?? PoolConfig.DefaultLateCallWindowSeconds,
        maxHoldsPerClient = p.Config.MaxHoldsPerClient ?? PoolConfig.DefaultMaxHoldsPerClient(p.Config.Numbers?.Count ?? 0),
        updatedAt = p.UpdatedAt,
    };
}
