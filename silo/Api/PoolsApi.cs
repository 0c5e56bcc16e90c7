using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Locations;
using CallMesh.Pools;
using CallMesh.Silo.Database;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

public static class PoolsApi
{
    public static RouteGroupBuilder MapPoolsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/pools").WithTags("Number pools").RequireAuthorization();
        group.MapGet("", ListPools).WithSummary("The pools the caller sees: every pool for whole-tenant readers, their locations' pools for managers.");
        group.MapPut("/{pool}", PutPool)
            .WithSummary("Create or replace a number pool (brand-admin). Numbers must be imported first and free of other uses.");
        group.MapGet("/{pool}", GetPool).WithSummary("A pool's configuration.");
        group.MapGet("/{pool}/health", GetHealth)
            .WithSummary("Size, active and resting leases, peak holds and demand per hour, overflow and early reuses, the late-call rules in force, " +
                         "call delays and calls by match, and the recommended rest and size with their rule (default window 7 days).");
        return group;
    }

    public static async Task<Results<Created<PoolResource>, Ok<PoolResource>, ValidationProblem, ProblemHttpResult>> PutPool(
        string tenant, string pool, PoolConfig body, HttpContext http, IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "pools") is { } denied) return denied;
        if (!Rules.IsValidId(pool)) return Problems.Invalid("pool", "must be lower-case letters, digits and dashes (at most 64).");

        var grain = grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, pool));
        return await ConfigurationPut.SaveAsync(audit, caller, tenant, "pool", pool, body, $"/v1/tenants/{tenant}/pools/{pool}",
            () => grain.Put(body), async () => ToResource((await grain.Get())!), () => Problems.NotFound("tenant"));
    }

    public static async Task<Results<Ok<PoolResource>, ProblemHttpResult>> GetPool(string tenant, string pool, HttpContext http, IGrainFactory grains) =>
        await VisiblePool(Caller.From(http.User), tenant, pool, grains) is { } snapshot
            ? TypedResults.Ok(ToResource(snapshot))
            : Problems.NotFound("pool");

    public static async Task<Results<Ok<PoolHealth>, ProblemHttpResult>> GetHealth(string tenant, string pool, int? days, HttpContext http,
        IGrainFactory grains, PoolHealthQuery health, TimeProvider clock)
    {
        if (await VisiblePool(Caller.From(http.User), tenant, pool, grains) is not { } snapshot) return Problems.NotFound("pool");
        var load = await grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, pool)).Load();
        var window = clock.GetUtcNow().UtcDateTime.AddDays(-Math.Clamp(days ?? 7, 1, 90));
        return TypedResults.Ok(await health.ComputeAsync(tenant, pool, load, snapshot.Config.LeaseSecondsInForce, window));
    }

    public static async Task<Results<Ok<PoolList>, ProblemHttpResult>> ListPools(string tenant, HttpContext http, IGrainFactory grains)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        var pools = await grains.GetGrain<ITenantGrain>(tenant).ListPools();
        if (!caller.SeesWholeTenant(tenant))
        {
            var mine = (await Access.VisibleLocations(caller, tenant, grains)).Select(l => l.LocationId).ToHashSet(StringComparer.Ordinal);
            pools = [.. pools.Where(p => p.LocationId is { } location && mine.Contains(location))];
        }
        var snapshots = await Task.WhenAll(pools.Select(p => grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, p.PoolId)).Get()));
        List<PoolResource> items = [.. snapshots.OfType<PoolSnapshot>().Select(ToResource)];
        return TypedResults.Ok(new PoolList(items, items.Count));
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

    /// <summary>
    /// A pool as configured, with the defaults in force filled in. Left out, <c>RestSeconds</c> follows the pool's call
    /// delays: <c>GET …/health</c> shows the rest in force.
    /// </summary>
    public sealed record PoolResource(string Id, string Tenant, string? Location, List<string>? Numbers, int LeaseSeconds,
        int IdleGraceSeconds, string? OverflowNumber, int? RestSeconds, int LateCallWindowSeconds, int MaxHoldsPerClient, DateTime UpdatedAt);

    public sealed record PoolList(List<PoolResource> Items, int Count);

    private static PoolResource ToResource(PoolSnapshot p) => new(p.Id, p.TenantId, p.Config.Location, p.Config.Numbers,
        p.Config.LeaseSecondsInForce, p.Config.IdleGraceSecondsInForce, p.Config.OverflowNumber, p.Config.RestSeconds,
        p.Config.LateCallWindowSecondsInForce, p.Config.MaxHoldsPerClientInForce, p.UpdatedAt);
}
