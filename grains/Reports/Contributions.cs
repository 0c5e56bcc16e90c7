using CallMesh.Calls;
using CallMesh.Common;

namespace CallMesh.Reports;

/// <summary>
/// What a call counts for in reports. One mapping serves the live path (CallGrain) and rebuilds
/// (the calls table), so a rebuild can only differ from the live rollups if the table was changed behind their back.
/// </summary>
public static class Contributions
{
    /// <summary>
    /// Test calls (from a `callmesh_test` session) and blocked callers' calls count for nothing: their
    /// contribution is zero, which removes any earlier one.
    /// </summary>
    public static CallContribution From(CallRecord call)
    {
        var counts = !call.Attribution.IsTest && call.Routing.Action != "reject";
        var measures = counts && call.Kind == LeadKinds.Text
            // A text is a lead of its own kind: counted, credited and qualified like a call, but not a call.
            ? new Measures { Texts = 1, Qualified = call.Qualified ? 1 : 0, Revenue = call.Outcome is null ? 0 : call.Value ?? 0 }
            : counts
            ? new Measures
            {
                Calls = 1, Answered = call.Answered ? 1 : 0, Missed = call.EndedAt is not null && !call.Answered ? 1 : 0,
                FirstTime = call.FirstTime ? 1 : 0, Qualified = call.Qualified ? 1 : 0,
                Revenue = call.Outcome is null ? 0 : call.Value ?? 0, DurationSeconds = call.DurationSeconds,
                Voicemails = call.Voicemail && !call.Answered ? 1 : 0,
                RingSeconds = call.Answered ? call.RingSeconds ?? 0 : 0, RingTimed = call.Answered && call.RingSeconds is not null ? 1 : 0,
            }
            : Measures.Zero;
        // Most calls have no outcome: they keep the shared empty map (a rollup holds a million of these).
        if (counts && call.Outcome is { } outcome) measures = measures with { Outcomes = new() { [outcome] = 1 } };
        var a = call.Attribution;
        // A DNI call stores its path, ending with the touch it is attributed to; any other call has one touch, its attribution.
        List<CallTouch> touches = call.Touches.Count > 0 ? call.Touches : [new CallTouch(call.StartedAt, a.Source, a.Medium, a.Campaign, a.Keyword)];
        return new CallContribution(call.CallId, call.Revision, call.ReportingDay, call.StartedAt, touches, measures);
    }
}
