using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Dni;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Pools;
using CallMesh.Tenants;

namespace CallMesh.Silo.Calls;

/// <summary>
/// Decides where an inbound call rings while the caller waits: from the silo's <see cref="RoutingSnapshot"/>, so no
/// database or other silo is in the way. Only what the snapshot cannot know is asked, briefly: who holds a number of a
/// brand-wide pool right now (its lease picks the location), and a number, a number's use or a location newer than the
/// copy. When that question gets no quick answer, the call still rings: at the tenant's fail-safe number.
/// </summary>
public sealed class InboundRouter(RoutingSnapshot snapshot, NumberDirectory directory, DniStore leases, GrainReferences references,
    ILogger<InboundRouter> logger)
{
    /// <summary>How long a question outside the snapshot may hold up the answer.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMilliseconds(300);

    /// <param name="open">Whether the location is open: left out, its hours at the call's start say.</param>
    public async Task<CallRouting> RouteAsync(string tenantId, InboundCall inbound, bool? open = null)
    {
        var data = snapshot.Current;
        // A number the copy does not hold, or holds as unassigned, may have been given a use since the copy was made (it
        // reloads up to a second after a change): the directory says, rather than the caller hearing "not in service".
        var number = data?.Numbers.GetValueOrDefault(inbound.To) is { Use: not "unassigned" } known
            ? known.TenantId == tenantId ? known : null
            : await Ask(() => FindNumberAsync(tenantId, inbound.To), "number") is { } found
                ? new RoutedNumber(found.TenantId, found.Use, found.LocationId) : null;
        var locationId = number?.Use is "pool" or "static" or "overflow" ? number.LocationId : null;
        // A brand-wide pool's number rings at the location of its newest hold, live or released within the default late-call
        // window: the page its caller saw (whether the call can be credited to that visit is the call grain's question).
        if (locationId is null && number?.Use == "pool")
            locationId = (await Ask<List<HeldLease>>(async () => await leases.FindLastHoldsAsync(inbound.To, inbound.StartedAt), "lease holder"))?.FirstOrDefault() is { } holder
                         && holder.TenantId == tenantId
                         && (holder.ReleasedAt is not { } released || (inbound.StartedAt - released).TotalSeconds <= PoolConfig.DefaultLateCallWindowSeconds)
                ? holder.LocationId : null;

        var tenant = data?.Tenants.GetValueOrDefault(tenantId)
                     ?? (await Ask(() => references.Get<ITenantGrain>(tenantId).Get(), "tenant"))?.Config;
        var location = locationId is null ? null
            : data?.Locations.GetValueOrDefault(TenantKey.For(tenantId, locationId))
              ?? (await Ask(() => references.Get<ILocationGrain>(TenantKey.For(tenantId, locationId)).Get(), "location"))?.Config;
        var blocked = data?.Blocked.Contains(TenantKey.For(tenantId, inbound.From)) == true;
        return open is { } isOpen
            ? CallRouter.Route(inbound, tenant, location, isOpen, blocked)
            : CallRouter.Route(inbound, tenant, location, blocked);
    }

    private async Task<TrackingNumber?> FindNumberAsync(string tenantId, string number) =>
        (await directory.FindAsync(tenantId, [number])).GetValueOrDefault(number);

    private async Task<T?> Ask<T>(Func<Task<T?>> question, string what) where T : class
    {
        try
        {
            return await question().WaitAsync(Patience);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("Routing a call without the {What}: {Reason}", what, e.Message);
            return null;
        }
    }
}
