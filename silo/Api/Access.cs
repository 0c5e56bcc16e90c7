using CallMesh.Identity;

namespace CallMesh.Silo.Api;

/// <summary>The two questions most endpoints ask of <see cref="Caller"/>, answered as problems.</summary>
public static class Access
{
    /// <summary>Null when the caller may change <paramref name="what"/> in the tenant; else the 404 or 403 to return.</summary>
    public static IResult? DenyConfigure(Caller caller, string tenant, string what) =>
        !caller.SeesTenant(tenant) ? Problems.NotFound("tenant")
        : !caller.ConfiguresTenant(tenant) ? Problems.Forbidden($"change {what}")
        : null;

    /// <summary>Null when the caller reads the whole tenant (brand admin, analyst, platform admin).</summary>
    public static IResult? DenyTenantWideRead(Caller caller, string tenant, string what) =>
        !caller.SeesTenant(tenant) ? Problems.NotFound("tenant")
        : !caller.SeesWholeTenant(tenant) ? Problems.NotFound(what)
        : null;
}
