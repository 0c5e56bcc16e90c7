using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Tenants;

namespace CallMesh.Calls;

/// <summary>
/// Where a call rings, from facts already at hand: the location's ring steps (or forward number) in its business hours,
/// its after-hours number outside them, else the tenant's fail-safe number; blocked callers are rejected. Pure, so the
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
        // In hours the location's ring strategy; outside them its after-hours number, else the tenant's fail-safe, else
        // the location's strategy anyway. Voicemail, where the location takes it, follows whichever rang last.
        var (route, steps) = location switch
        {
            not null when open => ("open", Strategy(location)),
            not null when location.AfterHoursForwardTo is { } afterHours => ("after-hours", One(afterHours)),
            _ when tenant?.FailSafeNumber is { } failSafe => ("fail-safe", One(failSafe)),
            not null => ("after-hours", Strategy(location)),   // no after-hours or fail-safe number: ring the location anyway
            _ => ("not-in-service", []),
        };
        if (steps.Count == 0) return new CallRouting("not-in-service", route, null, callerId, false, null, TextTo: location?.TextForwardTo);
        var record = tenant?.RecordCalls == true;
        return new CallRouting("dial", route, steps[0].Numbers[0], callerId, record,
            // Where the law wants its own words (two-party consent), the location's notice is read instead of the brand's.
            record ? location?.RecordingNotice ?? tenant!.RecordingNotice ?? DefaultRecordingNotice : null,
            steps, location?.Voicemail == true, location?.Whisper, location?.TextForwardTo);
    }

    public const string DefaultRecordingNotice = "This call may be recorded.";

    /// <summary>The location's ring steps, or its forward number alone.</summary>
    public static List<DialStep> Strategy(LocationConfig location) =>
        location.RingSteps is { Count: > 0 } steps
            ? [.. steps.Select(s => new DialStep(s.Numbers!, s.TimeoutSeconds ?? LocationRules.DefaultStepTimeout))]
            : location.ForwardTo is { } number ? One(number) : [];

    private static List<DialStep> One(string number) => [new DialStep([number], DialStep.DefaultTimeoutSeconds)];
}
