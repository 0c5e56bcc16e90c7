using CallMesh.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>The two questions most endpoints ask of <see cref="Caller"/>, answered as problems.</summary>
public static class Access
{
    /// <summary>Null when the caller may change <paramref name="what"/> in the tenant; else the 404 or 403 to return.</summary>
    public static ProblemHttpResult? DenyConfigure(Caller caller, string tenant, string what) =>
        !caller.SeesTenant(tenant) ? Problems.NotFound("tenant")
        : !caller.ConfiguresTenant(tenant) ? Problems.Forbidden($"change {what}")
        : null;

    /// <summary>Null when the caller reads the whole tenant (brand admin, analyst, platform admin).</summary>
    public static ProblemHttpResult? DenyTenantWideRead(Caller caller, string tenant, string what) =>
        !caller.SeesTenant(tenant) ? Problems.NotFound("tenant")
        : !caller.SeesWholeTenant(tenant) ? Problems.NotFound(what)
        : null;

    /// <summary>The tenant's locations the caller may see (all of them for tenant-wide readers), from the tenant's index.</summary>
    public static async Task<List<Tenants.LocationIndexEntry>> VisibleLocations(Caller caller, string tenant, IGrainFactory grains) =>
        [.. (await grains.GetGrain<Tenants.ITenantGrain>(tenant).ListLocations()).Where(l => caller.SeesLocation(tenant, l.LocationId, l.Market))];

    /// <summary>The location when the caller may see it; null (answer 404) when it does not exist or is out of scope.</summary>
    public static async Task<Locations.LocationSnapshot?> VisibleLocation(Caller caller, string tenant, string location, IGrainFactory grains)
    {
        if (!caller.SeesTenant(tenant) || !Common.Rules.IsValidId(location)) return null;
        var snapshot = await grains.GetGrain<Locations.ILocationGrain>(Common.TenantKey.For(tenant, location)).Get();
        return snapshot is not null && caller.SeesLocation(tenant, location, snapshot.Config.Market) ? snapshot : null;
    }
}
