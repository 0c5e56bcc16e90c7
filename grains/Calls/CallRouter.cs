using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Tenants;

namespace CallMesh.Calls;

/// <summary>
/// Where a call rings, from facts already at hand: the location's forward number in its business hours, its
/// after-hours number outside them, else the tenant's fail-safe number; blocked callers are rejected. Pure, so the
/// voice webhook (from the silo's routing snapshot) and the call grain (from its grains) decide alike.
/// </summary>
public static class CallRouter
{
    public static CallRouting Route(InboundCall inbound, TenantConfig? tenant, LocationConfig? location, bool blocked) =>
        Route(inbound, tenant, location, location is not null && BusinessHours.IsOpen(location, inbound.StartedAt), blocked);

    public static CallRouting Route(InboundCall inbound, TenantConfig? tenant, LocationConfig? location, bool open, bool blocked)
    {
        // The location sees who is calling: pass the caller's number through when it is a real one.
        var callerId = Rules.PhoneNumberError(inbound.From) is null ? inbound.From : inbound.To;
        if (blocked) return new CallRouting("reject", "blocked", null, callerId, false, null);
        var (route, dialTo) = location switch
        {
            not null when open => ("open", location.ForwardTo),
            not null when location.AfterHoursForwardTo is { } afterHours => ("after-hours", afterHours),
            _ when tenant?.FailSafeNumber is { } failSafe => ("fail-safe", failSafe),
            not null => ("after-hours", location.ForwardTo),   // no after-hours or fail-safe number: ring the location anyway
            _ => ("not-in-service", null),
        };
        return dialTo is null
            ? new CallRouting("not-in-service", route, null, callerId, false, null)
            : tenant?.RecordCalls == true
                ? new CallRouting("dial", route, dialTo, callerId, true, tenant.RecordingNotice ?? "This call may be recorded.")
                : new CallRouting("dial", route, dialTo, callerId, false, null);
    }
}
