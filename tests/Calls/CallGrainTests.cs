using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Pools;
using CallMesh.Tenants;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Calls;

/// <summary>Call attribution, routing, callbacks and qualification on a real silo with PostgreSQL.</summary>
public sealed class CallGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private readonly DniSetup _dni = new(fixture);
    private static int _calls;

    private sealed record Brand(string Tenant, List<string> Pool, string Overflow, string Billboard, string Unassigned);

    private const string FailSafe = "+13125550999";

    /// <summary>
    /// Two locations a time-zone apart: Los Angeles (9–17 Mon–Fri, an after-hours number, a billboard number)
    /// and New York (9–17 Mon–Fri, no after-hours number, a 3-number pool with an overflow number).
    /// </summary>
    private async Task<Brand> BrandAsync(ConversionRules? rules = null)
    {
        var tenant = $"c-{Guid.NewGuid():N}"[..12];
        await fixture.Grains.GetGrain<ITenantGrain>(tenant).Put(new TenantConfig("Acme", "America/Chicago", "USD", rules, FailSafe, RecordCalls: true));
        List<OpeningHours> hours = [.. LocationRules.Days[..5].Select(d => new OpeningHours(d, "09:00", "17:00"))];
        async Task Location(string id, string zone, string forward, string? afterHours) => Assert.Equal(SaveOutcome.Created,
            (await fixture.Grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, id)).Put(new LocationConfig($"Acme {id}",
                new PostalAddress("1 Main St", "City", "CA", "90001", "US"), "+12135550100", forward, zone, hours, afterHours,
                null, null, "west", null))).Outcome);
        await Location("la", "America/Los_Angeles", "+12135550101", "+12135550199");
        await Location("ny", "America/New_York", "+12125550101", null);

        var numbers = DniSetup.NewNumbers(6);
        await _dni.Service<NumberDirectory>().ImportAsync(tenant, numbers.Select(n => new NumberImport(n, "twilio", null)).ToList());
        await fixture.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, "ny-web")).Put(new PoolConfig("ny", numbers[..3], 1800, 300, numbers[3]));
        Assert.Null(await _dni.Service<NumberDirectory>().AssignStaticAsync(tenant, "la",
            new StaticNumber("billboard-i10", numbers[4], "billboard", "I-10 east", "lamar", "spring-sale")));
        return new Brand(tenant, numbers[..3], numbers[3], numbers[4], numbers[5]);
    }

    private ICallGrain Call(string tenant, out string callId)
    {
        callId = $"CA{Interlocked.Increment(ref _calls):D32}";
        return fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(tenant, callId));
    }

    private static InboundCall Inbound(string to, DateTime at, string from = "+14155550123") => new("AC1", from, to, at);

    [Fact]
    public async Task Routing_follows_each_locations_hours_in_its_own_time_zone_with_after_hours_and_fail_safe_numbers()
    {
        var brand = await BrandAsync();
        var mondayMorningUtc = new DateTime(2026, 11, 23, 16, 30, 0, DateTimeKind.Utc);   // New York 11:30 (open), Los Angeles 08:30 (closed)
        var mondayEveningUtc = new DateTime(2026, 11, 23, 23, 30, 0, DateTimeKind.Utc);   // New York 18:30 (closed), Los Angeles 15:30 (open)

        var laMorning = await Call(brand.Tenant, out _).Start(Inbound(brand.Billboard, mondayMorningUtc));
        var laEvening = await Call(brand.Tenant, out _).Start(Inbound(brand.Billboard, mondayEveningUtc));
        var nyMorning = await Call(brand.Tenant, out _).Start(Inbound(brand.Overflow, mondayMorningUtc));
        var nyEvening = await Call(brand.Tenant, out _).Start(Inbound(brand.Overflow, mondayEveningUtc));
        var nowhere = await Call(brand.Tenant, out _).Start(Inbound(brand.Unassigned, mondayMorningUtc));

        Assert.Equal(("after-hours", "+12135550199"), (laMorning.Route, laMorning.DialTo));
        Assert.Equal(("open", "+12135550101"), (laEvening.Route, laEvening.DialTo));
        Assert.Equal(("open", "+12125550101"), (nyMorning.Route, nyMorning.DialTo));
        Assert.Equal(("fail-safe", FailSafe), (nyEvening.Route, nyEvening.DialTo));   // closed, and New York has no after-hours number
        Assert.Equal(("fail-safe", FailSafe), (nowhere.Route, nowhere.DialTo));
        Assert.All(new[] { laMorning, nyMorning }, r => Assert.Equal(("dial", "+14155550123", true), (r.Action, r.CallerId, r.Record)));
    }

    [Fact]
    public async Task A_pool_call_takes_the_attribution_of_the_session_that_held_the_number_and_others_are_never_guessed()
    {
        var brand = await BrandAsync();
        var visitor = Guid.NewGuid();
        var session = await _dni.Visit(brand.Tenant, "ny-web", visitor, url: "https://acme.example/ny?utm_source=google&utm_medium=cpc&utm_campaign=fall&utm_term=plumber&gclid=G-1");
        var number = Assert.Single(session.Swaps).Number;
        var free = brand.Pool.First(n => n != number);

        await Call(brand.Tenant, out var leasedCall).Start(Inbound(number, DateTime.UtcNow));
        await Call(brand.Tenant, out var freeCall).Start(Inbound(free, DateTime.UtcNow));
        await Call(brand.Tenant, out var overflowCall).Start(Inbound(brand.Overflow, DateTime.UtcNow));
        await Call(brand.Tenant, out var billboardCall).Start(Inbound(brand.Billboard, DateTime.UtcNow));

        var leased = (await fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(brand.Tenant, leasedCall)).Get())!.Attribution;
        Assert.Equal(("pool", "ny", "google", "cpc", "fall", "plumber", "G-1"), (leased.NumberKind, leased.LocationId, leased.Source, leased.Medium, leased.Campaign, leased.Keyword, leased.Gclid));
        Assert.Equal((visitor, session.SessionId), (leased.VisitorId, leased.SessionId));
        Assert.Equal("https://acme.example/ny", leased.LandingPage);   // touches keep the landing page without its query

        var unleased = (await fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(brand.Tenant, freeCall)).Get())!.Attribution;
        Assert.Equal(("pool", "ny", "unknown", (Guid?)null), (unleased.NumberKind, unleased.LocationId, unleased.Source, unleased.VisitorId));
        var overflow = (await fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(brand.Tenant, overflowCall)).Get())!.Attribution;
        Assert.Equal(("overflow", "ny", "overflow"), (overflow.NumberKind, overflow.LocationId, overflow.Source));
        var billboard = (await fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(brand.Tenant, billboardCall)).Get())!.Attribution;
        Assert.Equal(("static", "la", "billboard", "lamar", "spring-sale", "billboard-i10"), (billboard.NumberKind, billboard.LocationId, billboard.Medium, billboard.Source, billboard.Campaign, billboard.StaticKey));

        Assert.Equal("pool", await fixture.Database.Scalar<string>("SELECT number_kind FROM callmesh.calls WHERE call_id = $1", leasedCall));
        Assert.Equal("fall", await fixture.Database.Scalar<string>("SELECT campaign FROM callmesh.calls WHERE call_id = $1", leasedCall));
    }

    [Fact]
    public async Task A_blocked_caller_is_rejected_and_a_repeated_webhook_gets_the_same_answer()
    {
        var brand = await BrandAsync();
        await fixture.Grains.GetGrain<ICallerGrain>(TenantKey.For(brand.Tenant, "+14155550666")).SetBlocked(true, "robocaller");
        var grain = Call(brand.Tenant, out var callId);

        var first = await grain.Start(Inbound(brand.Billboard, DateTime.UtcNow, from: "+14155550666"));
        var retry = await grain.Start(Inbound(brand.Billboard, DateTime.UtcNow.AddSeconds(3), from: "+14155550666"));

        Assert.Equal(("reject", "blocked"), (first.Action, first.Route));
        Assert.Equal(first, retry);
        Assert.Equal(1L, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls WHERE call_id = $1", callId));

        // A retry that reaches a new activation of the call (its silo restarted, say) is answered from the row
        // the first delivery wrote, not worked out again: the caller was unblocked since, the answer stands.
        await fixture.Grains.GetGrain<ICallerGrain>(TenantKey.For(brand.Tenant, "+14155550666")).SetBlocked(false, null);
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var afterRestart = await grain.Start(Inbound(brand.Billboard, DateTime.UtcNow.AddSeconds(6), from: "+14155550666"));
        Assert.Equal(first, afterRestart);
        Assert.Equal(1, await fixture.Database.Scalar<int>("SELECT revision FROM callmesh.calls WHERE call_id = $1", callId));

        // The blocklist outlives the caller's activation: blocked again, then forgotten by every silo, still rejected.
        await fixture.Grains.GetGrain<ICallerGrain>(TenantKey.For(brand.Tenant, "+14155550666")).SetBlocked(true, "robocaller");
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var next = await Call(brand.Tenant, out _).Start(Inbound(brand.Billboard, DateTime.UtcNow.AddSeconds(9), from: "+14155550666"));
        Assert.Equal(("reject", "blocked"), (next.Action, next.Route));
    }

    [Fact]
    public async Task The_writer_changes_a_calls_row_only_from_the_stored_revision_and_never_what_its_start_decided()
    {
        var brand = await BrandAsync();
        var grain = Call(brand.Tenant, out var callId);
        await grain.Start(Inbound(brand.Billboard, DateTime.UtcNow));
        var started = (await grain.Get())!;
        var writer = _dni.Service<CallWriter>();
        Task<long> AnsweredInRollups() =>
            fixture.Database.Scalar<long>("SELECT coalesce(sum(answered), 0)::bigint FROM callmesh.rollup_days WHERE tenant_id = $1", brand.Tenant);
        Assert.Equal(0L, await AnsweredInRollups());

        // A change from the stored revision is written, with its rollup change.
        var answered = started with { Answered = true, Status = "in-progress", Revision = started.Revision + 1 };
        Assert.True(await writer.SaveAsync(started, answered));
        Assert.Equal((true, "in-progress", 2), (await fixture.Database.Scalar<bool>("SELECT answered FROM callmesh.calls WHERE call_id = $1", callId),
            await fixture.Database.Scalar<string>("SELECT status FROM callmesh.calls WHERE call_id = $1", callId),
            await fixture.Database.Scalar<int>("SELECT revision FROM callmesh.calls WHERE call_id = $1", callId)));
        var answeredInRollups = await AnsweredInRollups();
        Assert.NotEqual(0L, answeredInRollups);

        // One from a revision that was replaced meanwhile is refused and changes nothing, its rollups included.
        Assert.False(await writer.SaveAsync(started, started with { Status = "completed", Revision = started.Revision + 1 }));
        Assert.Equal("in-progress", await fixture.Database.Scalar<string>("SELECT status FROM callmesh.calls WHERE call_id = $1", callId));
        Assert.Equal(answeredInRollups, await AnsweredInRollups());

        // The update writes only what later changes can touch: a change to the call's attribution (here, its location) fails.
        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.SaveAsync(answered,
            answered with { Attribution = answered.Attribution with { LocationId = "ny" }, Revision = answered.Revision + 1 }));
        Assert.Equal(("la", 2), (await fixture.Database.Scalar<string>("SELECT location_id FROM callmesh.calls WHERE call_id = $1", callId),
            await fixture.Database.Scalar<int>("SELECT revision FROM callmesh.calls WHERE call_id = $1", callId)));
    }

    [Fact]
    public async Task Duplicated_and_reordered_callbacks_end_every_call_in_the_same_state_counted_once()
    {
        var brand = await BrandAsync(new ConversionRules(RequireAnswered: true, MinDurationSeconds: 30));
        var random = new Random(20261123);
        var calls = new List<(string Id, bool Answers, int Talk, int Total)>();
        var deliveries = new List<(string Id, CallEvent Event)>();
        for (var i = 0; i < 100; i++)
        {
            await Call(brand.Tenant, out var id).Start(Inbound(brand.Billboard, DateTime.UtcNow, from: $"+1415555{i:D4}"));
            var answers = random.Next(3) > 0;
            var talk = answers ? random.Next(1, 300) : 0;
            var total = talk + random.Next(5, 30);
            calls.Add((id, answers, talk, total));
            var dialedSid = $"CB{i:D32}";
            List<CallEvent> events =
            [
                new($"dialed:{dialedSid}:0", "dialed", "initiated", null, null),
                new($"dialed:{dialedSid}:1", "dialed", "ringing", null, null),
                new($"inbound:{id}:0", "inbound", "completed", total, null),
                new($"dial-result:{id}", "dial-result", answers ? "completed" : "no-answer", answers ? talk : 0, answers ? $"https://rec.example/{id}" : null, answers),
            ];
            if (answers) events.Add(new($"dialed:{dialedSid}:2", "dialed", "in-progress", null, null));
            events.Add(new($"dialed:{dialedSid}:3", "dialed", answers ? "completed" : "no-answer", answers ? talk : 0, null));
            // Every delivery at least once, some up to three times.
            foreach (var e in events) for (var n = random.Next(1, 4); n > 0; n--) deliveries.Add((id, e));
        }
        Assert.True(deliveries.Count >= 1000, $"{deliveries.Count} deliveries");

        // Shuffled, and applied concurrently as a carrier's retries would arrive.
        var shuffled = deliveries.OrderBy(_ => random.Next()).ToList();
        await Task.WhenAll(shuffled.Chunk(shuffled.Count / 8 + 1).Select(chunk => Task.Run(async () =>
        {
            foreach (var (id, e) in chunk) Assert.NotEqual(Applied.UnknownCall, await fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(brand.Tenant, id)).Apply(e));
        })));

        foreach (var (id, answers, talk, total) in calls)
        {
            var call = (await fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(brand.Tenant, id)).Get())!;
            Assert.Equal(("completed", answers, talk, total), (call.Status, call.Answered, call.TalkSeconds, call.DurationSeconds));
            Assert.Equal(call.StartedAt.AddSeconds(total), call.EndedAt);
            Assert.True(call.Settled);   // the dial result came, in whatever order: reported completed (or missed) once
            Assert.Equal(answers && talk >= 30, call.Qualified);
            Assert.Equal(answers ? $"https://rec.example/{id}" : null, call.RecordingUrl);
        }
        Assert.Equal(100L, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1", brand.Tenant));
        Assert.Equal((long)calls.Count(c => c.Answers), await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1 AND answered", brand.Tenant));
        Assert.Equal((long)calls.Sum(c => c.Talk), await fixture.Database.Scalar<long>("SELECT sum(talk_seconds) FROM callmesh.calls WHERE tenant_id = $1", brand.Tenant));
    }

    [Fact]
    public async Task Starts_read_together_each_get_their_own_number_and_caller()
    {
        var brand = await BrandAsync();
        var at = DateTime.UtcNow;
        (string Number, string Kind)[] numbers = [(brand.Billboard, "static"), (brand.Overflow, "overflow"), (brand.Pool[0], "pool"), (brand.Unassigned, "unassigned")];
        var callers = Enumerable.Range(0, 16).Select(i => $"+1415555{i:D4}").ToList();
        // Half of them called before, and every silo has forgotten them since: their history comes with their next start's read.
        foreach (var caller in callers.Where((_, i) => i % 2 == 0)) await Call(brand.Tenant, out _).Start(Inbound(brand.Billboard, at, from: caller));
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var calls = callers.Select((caller, i) => (Grain: Call(brand.Tenant, out _), Caller: caller, Number: numbers[i % numbers.Length], Known: i % 2 == 0)).ToList();
        var reader = _dni.Service<CallStartReader>();
        var roundTrips = reader.RoundTrips;
        await Task.WhenAll(calls.Select(c => c.Grain.Start(Inbound(c.Number.Number, at.AddMinutes(1), from: c.Caller))));
        // 16 starts that come together share round trips; read alone, they would take 16.
        Assert.InRange(reader.RoundTrips - roundTrips, 1, 8);

        foreach (var c in calls)
        {
            var call = (await c.Grain.Get())!;
            Assert.Equal((c.Caller, c.Number.Number, c.Number.Kind, !c.Known), (call.Caller, call.TrackingNumber, call.Attribution.NumberKind, call.FirstTime));
        }
    }

    [Fact]
    public async Task A_caller_with_more_calls_than_a_start_carries_is_read_whole_by_its_grain()
    {
        var brand = await BrandAsync();
        var at = DateTime.UtcNow.AddHours(-1);
        const string robocaller = "+14155550888";
        // One call to Los Angeles, then 100 newer ones to New York: the newest 100 alone would make the next call to Los
        // Angeles its first there.
        await Call(brand.Tenant, out _).Start(Inbound(brand.Billboard, at, from: robocaller));
        for (var i = 1; i <= 100; i++) await Call(brand.Tenant, out _).Start(Inbound(brand.Overflow, at.AddSeconds(i), from: robocaller));
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var next = Call(brand.Tenant, out _);
        await next.Start(Inbound(brand.Billboard, at.AddMinutes(10), from: robocaller));
        var call = (await next.Get())!;
        Assert.Equal((false, false), (call.FirstTime, call.FirstTimeForLocation));
    }

    [Fact]
    public async Task First_time_and_unique_callers_and_outcomes_decide_qualification_which_is_evaluated_again_on_each_outcome()
    {
        var brand = await BrandAsync(new ConversionRules(FirstTimeCallerOnly: true, Outcomes: ["sale", "appointment"]));
        var at = DateTime.UtcNow;
        var first = Call(brand.Tenant, out var firstId);
        await first.Start(Inbound(brand.Billboard, at, from: "+14155550777"));
        var repeat = Call(brand.Tenant, out _);
        await repeat.Start(Inbound(brand.Overflow, at.AddMinutes(5), from: "+14155550777"));

        var one = (await first.Get())!;
        var two = (await repeat.Get())!;
        Assert.Equal((true, true, false), (one.FirstTime, one.FirstTimeForLocation, one.Qualified));
        Assert.Equal((false, true), (two.FirstTime, two.FirstTimeForLocation));   // a repeat caller, new to New York
        Assert.Equal(5.0 / 1440, two.DaysSincePreviousCall!.Value, 6);

        // The caller's history outlives its activation: forgotten by every silo, the next call's start reads it (with the
        // call's other facts) for the caller's new activation.
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var third = Call(brand.Tenant, out _);
        await third.Start(Inbound(brand.Billboard, at.AddMinutes(10), from: "+14155550777"));
        var three = (await third.Get())!;
        Assert.Equal((false, false), (three.FirstTime, three.FirstTimeForLocation));
        Assert.Equal(5.0 / 1440, three.DaysSincePreviousCall!.Value, 6);

        var sale = await first.SetOutcome(new CallOutcome("sale", 1250.50m, "USD", "crm-1"));
        Assert.Equal((true, "sale", 1250.50m), (sale.Call!.Qualified, sale.Call.Outcome, sale.Call.Value));
        Assert.Equal(["first-time", "outcome"], sale.Call.MetRules);
        // The CRM sends the same update again, then a corrected one.
        Assert.Equal(1250.50m, (await first.SetOutcome(new CallOutcome("spam", 0, "USD", "crm-1"))).Call!.Value);
        var spam = await first.SetOutcome(new CallOutcome("spam", null, null, "crm-2"));
        Assert.Equal((false, "spam", (decimal?)null), (spam.Call!.Qualified, spam.Call.Outcome, spam.Call.Value));
        Assert.False(await fixture.Database.Scalar<bool>("SELECT qualified FROM callmesh.calls WHERE call_id = $1", firstId));

        var bad = await first.SetOutcome(new CallOutcome("won", 10, "EUR", null));
        Assert.Equal(["currency", "outcome"], bad.Errors.Keys.Order());
        Assert.Equal("spam", (await first.Get())!.Outcome);
    }
}
