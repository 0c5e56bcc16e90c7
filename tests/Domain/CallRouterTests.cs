using CallMesh.Calls;
using CallMesh.Carriers;
using CallMesh.Locations;
using CallMesh.Tenants;

namespace CallMesh.Tests.Domain;

/// <summary>Where a call rings and what the caller hears first, decided from the tenant's and the location's settings alone.</summary>
public sealed class CallRouterTests
{
    private static readonly InboundCall Call = new("AC1", "+14155550142", "+15125550180", new DateTime(2026, 12, 7, 16, 0, 0, DateTimeKind.Utc));
    private static readonly TenantConfig Brand = new("Bluebonnet", "America/Chicago", "USD", null, FailSafeNumber: "+15125550100");
    private static readonly LocationConfig Store = new("Katy", null, "+18325550116", "+18325550101", "America/Chicago", null, "+18325550199", null, null, null, null,
        RingSteps: [new RingStep(["+18325550101"], 15), new RingStep(["+17135550102", "+17135550103"])], Voicemail: true);

    [Fact]
    public void In_hours_the_locations_steps_ring_in_order_with_their_timeouts_and_voicemail_follows()
    {
        var routing = CallRouter.Route(Call, Brand, Store, open: true, blocked: false);
        Assert.Equal(("dial", "open", "+18325550101", true), (routing.Action, routing.Route, routing.DialTo, routing.Voicemail));
        Assert.Equal([(1, 15), (2, LocationRules.DefaultStepTimeout)], routing.StepsInOrder.Select(s => (s.Numbers.Count, s.TimeoutSeconds)));
        Assert.Null(routing.RecordingNotice);
    }

    [Fact]
    public void After_hours_the_after_hours_number_is_one_step_and_without_any_number_the_fail_safe_rings()
    {
        var closed = CallRouter.Route(Call, Brand, Store, open: false, blocked: false);
        Assert.Equal(("after-hours", "+18325550199"), (closed.Route, Assert.Single(closed.StepsInOrder).Numbers.Single()));
        var nowhere = CallRouter.Route(Call, Brand, null, open: false, blocked: false);
        Assert.Equal(("fail-safe", "+15125550100", false), (nowhere.Route, nowhere.DialTo, nowhere.Voicemail));
        Assert.Equal("reject", CallRouter.Route(Call, Brand, Store, open: true, blocked: true).Action);
    }

    [Fact]
    public void A_recorded_call_reads_the_locations_consent_notice_where_it_has_one_else_the_brands()
    {
        var recording = Brand with { RecordCalls = true, RecordingNotice = "Calls are recorded for quality." };
        Assert.Equal("Calls are recorded for quality.", CallRouter.Route(Call, recording, Store, open: true, blocked: false).RecordingNotice);
        var twoParty = Store with { RecordingNotice = "This call is recorded. Stay on the line to agree." };
        var routing = CallRouter.Route(Call, recording, twoParty, open: true, blocked: false);
        Assert.Equal("This call is recorded. Stay on the line to agree.", routing.RecordingNotice);
        Assert.Equal(CallRouter.DefaultRecordingNotice, CallRouter.Route(Call, Brand with { RecordCalls = true }, Store, open: true, blocked: false).RecordingNotice);

        // The notice is said before the first step's dial, which records from the answer.
        var twiml = TwiML.Answer(routing, "https://calls.example/v1/voice/twilio");
        Assert.StartsWith("""<?xml version="1.0" encoding="utf-8"?><Response><Say>This call is recorded. Stay on the line to agree.</Say><Dial action="https://calls.example/v1/voice/twilio/dial-action?step=1&amp;route=open" timeout="15" callerId="+14155550142" record="record-from-answer-dual" """, twiml);
        Assert.Null(CallRouter.Route(Call, Brand, twoParty, open: true, blocked: false).RecordingNotice);   // not recorded: nothing to say
    }
}
