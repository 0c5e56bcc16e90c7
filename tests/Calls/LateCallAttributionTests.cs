using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Pools;
using CallMesh.Reports;
using CallMesh.Tenants;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Calls;

/// <summary>
/// Late calls (docs/attribution.md) on a real silo with PostgreSQL: rest periods, the last holder within the late-call
/// window, ambiguous matches after an early reuse, the caller's history, and sizing from observed delays. Pools lease for
/// 1 s with 1 s of idle grace, so holds end within seconds; a call "10 minutes later" is a call whose start is that late.
/// </summary>
// Its pools lease for 1 s and its tests wait on that clock: run apart from the process clusters (one class at a time in
// that collection), whose load on 2 cores made the order of two releases a second apart come out swapped in full runs.
[Collection(Api.ProcessTests.Name)]
public sealed class LateCallAttributionTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private readonly DniSetup _dni = new(fixture);
    private static int _calls;

    private sealed record Pool(string Tenant, string Id, List<string> Numbers, string Overflow);

    private async Task<Pool> PoolAsync(int size, int? restSeconds, int? lateCallWindowSeconds = null)
    {
        var tenant = $"l-{Guid.NewGuid():N}"[..12];
        await fixture.Grains.GetGrain<ITenantGrain>(tenant).Put(new TenantConfig("Acme", "America/Chicago", "USD", null));
        Assert.Equal(SaveOutcome.Created, (await fixture.Grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, "ny")).Put(new LocationConfig(
            "Acme NY", new PostalAddress("1 Main St", "New York", "NY", "10001", "US"), "+12125550100", "+12125550101", "America/New_York",
            null, null, null, null, "east", null))).Outcome);
        var numbers = DniSetup.NewNumbers(size + 1);
        await _dni.Service<NumberDirectory>().ImportAsync(tenant, numbers.Select(n => new NumberImport(n, "twilio", null)).ToList());
        Assert.Equal(SaveOutcome.Created, (await fixture.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, "web"))
            .Put(new PoolConfig("ny", numbers[..size], 1, 1, numbers[size], restSeconds, lateCallWindowSeconds))).Outcome);
        return new Pool(tenant, "web", numbers[..size], numbers[size]);
    }

    private INumberPoolGrain PoolGrain(Pool pool) => fixture.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(pool.Tenant, pool.Id));

    private async Task<(Guid Visitor, Guid Session, string Number)> Visit(Pool pool, string campaign)
    {
        var visitor = Guid.NewGuid();
        var answer = await _dni.Visit(pool.Tenant, pool.Id, visitor, url: $"https://acme.example/ny?utm_source=google&utm_medium=cpc&utm_campaign={campaign}");
        return (visitor, answer.SessionId, Assert.Single(answer.Swaps).Number);
    }

    private async Task<CallAttribution> CallAsync(Pool pool, string to, DateTime at, string from = "+14155550123")
    {
        var callId = $"CL{Interlocked.Increment(ref _calls):D32}";
        var grain = fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(pool.Tenant, callId));
        await grain.Start(new InboundCall("AC1", from, to, at));
        return (await grain.Get())!.Attribution;
    }

    private Task<DateTime> ReleasedAt(Pool pool, Guid visitor) => fixture.Database.Scalar<DateTime>(
        "SELECT released_at FROM callmesh.number_leases WHERE tenant_id = $1 AND visitor_id = $2 AND released_at IS NOT NULL", pool.Tenant, visitor);

    /// <summary>The pool's load once <paramref name="counted"/> holds (or after 5 s): calls reach their pool as one-way messages.</summary>
    private static async Task<PoolLoad> LoadOnce(INumberPoolGrain grain, Func<PoolLoad, bool> counted)
    {
        var load = await grain.Load();
        for (var wait = 0; !counted(load) && wait < 50; wait++, load = await grain.Load()) await Task.Delay(100);
        return load;
    }

    [Fact]
    public async Task A_call_ten_minutes_after_release_with_no_reuse_goes_to_the_last_holder_and_past_the_window_to_nobody()
    {
        var pool = await PoolAsync(size: 2, restSeconds: null, lateCallWindowSeconds: 3600);
        var (visitor, session, number) = await Visit(pool, "late");
        await Task.Delay(TimeSpan.FromSeconds(2.3));
        await Visit(pool, "other");   // leases the other number, and releases the first
        var released = await ReleasedAt(pool, visitor);

        var late = await CallAsync(pool, number, released.AddMinutes(10));
        var tooLate = await CallAsync(pool, number, released.AddHours(2));

        Assert.Equal(("afterRelease", visitor, session, "late", "ny"), (late.Match, late.VisitorId, late.SessionId, late.Campaign, late.LocationId));
        Assert.Equal(600, late.SecondsSinceRelease!.Value, precision: 3);
        Assert.Equal(("none", (Guid?)null, "unknown", "ny"), (tooLate.Match, tooLate.VisitorId, tooLate.Source, tooLate.LocationId));
    }

    [Fact]
    public async Task Rested_numbers_go_first_a_resting_one_is_lent_only_when_none_is_left_and_early_reuse_and_overflow_are_counted()
    {
        var pool = await PoolAsync(size: 3, restSeconds: 600);
        var a = await Visit(pool, "a");
        var b = await Visit(pool, "b");
        await Task.Delay(TimeSpan.FromSeconds(2.3));   // a's and b's holds are over; their numbers rest for 10 minutes

        var c = await Visit(pool, "c");   // the number never leased has rested
        var d = await Visit(pool, "d");   // every rested number is taken: the one released longest ago (a's)
        var e = await Visit(pool, "e");
        var overflow = await _dni.Visit(pool.Tenant, pool.Id, Guid.NewGuid());

        Assert.Equal([pool.Numbers[0], pool.Numbers[1], pool.Numbers[2], pool.Numbers[0], pool.Numbers[1]],
            new[] { a, b, c, d, e }.Select(v => v.Number));
        Assert.Equal(pool.Overflow, Assert.Single(overflow.Swaps).Number);
        var early = await fixture.Database.Scalar<Guid[]>(
            "SELECT array_agg(visitor_id) FROM callmesh.number_leases WHERE tenant_id = $1 AND kind = 'lease' AND early_reuse", pool.Tenant);
        Assert.Equal(new[] { d.Visitor, e.Visitor }.Order(), early!.Order());

        var load = await PoolGrain(pool).Load();
        var health = await _dni.Service<PoolHealthQuery>().ComputeAsync(pool.Tenant, pool.Id, load, 1, DateTime.UtcNow.AddHours(-1));
        Assert.Equal((2L, 1L, 6L), (health.PrecisionRisk.EarlyReuses, health.OverflowCount, health.Allocations));
        Assert.Equal((600, "configured"), (health.LateCalls.RestSeconds, health.LateCalls.RestFrom));
        // Five holds and an overflow answer each need a number for their hold and 10 minutes of rest after it.
        Assert.Equal(6, health.PeakDemand);
        Assert.Equal(9, health.RecommendedSize);   // ceil(6 × 1.25) + 1
    }

    [Fact]
    public async Task A_call_after_the_number_passed_early_to_someone_else_is_ambiguous_never_the_new_holder()
    {
        var pool = await PoolAsync(size: 1, restSeconds: 600);
        var first = await Visit(pool, "first");
        await Task.Delay(TimeSpan.FromSeconds(2.3));
        var second = await Visit(pool, "second");   // lent early: the only number was resting
        Assert.Equal(first.Number, second.Number);

        var call = await CallAsync(pool, second.Number, DateTime.UtcNow);

        Assert.Equal(("ambiguous", (Guid?)null, (Guid?)null), (call.Match, call.VisitorId, call.SessionId));
        Assert.Equal(("unknown", "reused", "ny"), (call.Source, call.Medium, call.LocationId));
        Assert.Equal([(second.Visitor, second.Session), (first.Visitor, first.Session)], call.Candidates!.Select(c => (c.VisitorId, c.SessionId)));
        Assert.Equal("ambiguous", await fixture.Database.Scalar<string>(
            "SELECT match FROM callmesh.calls WHERE tenant_id = $1 AND tracking_number = $2", pool.Tenant, second.Number));
        Assert.Equal(1, (await LoadOnce(PoolGrain(pool), l => l.Matches.ContainsKey("ambiguous"))).Matches["ambiguous"]);
    }

    [Fact]
    public async Task A_number_that_rested_before_it_was_leased_again_credits_its_live_holder()
    {
        var pool = await PoolAsync(size: 1, restSeconds: 1);
        var first = await Visit(pool, "first");
        await Task.Delay(TimeSpan.FromSeconds(3.5));   // over at 2 s, rested by 3 s
        var second = await Visit(pool, "second");

        var call = await CallAsync(pool, second.Number, DateTime.UtcNow);

        Assert.Equal(first.Number, second.Number);
        Assert.Equal(("live", second.Visitor, "second", (double?)null), (call.Match, call.VisitorId, call.Campaign, call.SecondsSinceRelease));
        Assert.False(await fixture.Database.Scalar<bool>(
            "SELECT early_reuse FROM callmesh.number_leases WHERE visitor_id = $1", second.Visitor));
    }

    [Fact]
    public async Task A_known_callers_unmatched_call_is_credited_to_their_earlier_visit_only_when_the_tenant_enables_it()
    {
        var pool = await PoolAsync(size: 2, restSeconds: 600);
        var visit = await Visit(pool, "remembered");
        const string caller = "+14155550999";
        var matched = await CallAsync(pool, visit.Number, DateTime.UtcNow, caller);
        var free = pool.Numbers.Single(n => n != visit.Number);

        var strict = await CallAsync(pool, free, DateTime.UtcNow, caller);
        var config = (await fixture.Grains.GetGrain<ITenantGrain>(pool.Tenant).Get())!.Config;
        await fixture.Grains.GetGrain<ITenantGrain>(pool.Tenant).Put(config with { CallerHistoryDays = 30 });
        var remembered = await CallAsync(pool, free, DateTime.UtcNow, caller);
        var stranger = await CallAsync(pool, free, DateTime.UtcNow, "+14155550888");

        Assert.Equal(("live", visit.Session), (matched.Match, matched.SessionId));
        Assert.Equal(("none", (Guid?)null), (strict.Match, strict.SessionId));
        Assert.Equal(("callerHistory", visit.Visitor, visit.Session, "remembered"), (remembered.Match, remembered.VisitorId, remembered.SessionId, remembered.Campaign));
        Assert.Equal(("none", (Guid?)null), (stranger.Match, stranger.SessionId));
    }

    [Fact]
    public async Task The_rest_follows_the_observed_call_delays_once_there_are_enough_and_the_size_follows_the_rest()
    {
        var pool = await PoolAsync(size: 4, restSeconds: null);
        var grain = PoolGrain(pool);
        var now = DateTime.UtcNow;
        Assert.Equal((1, "default"), ((await grain.LateCallRules()).RestSeconds, (await grain.LateCallRules()).RestFrom));

        // 97 calls 5 s after the visitor's last activity and 3 calls 100 s after: the 99th percentile's bucket ends at 120 s.
        foreach (var delay in Enumerable.Repeat(5, 97).Concat(Enumerable.Repeat(100, 3)))
            await grain.ObserveCall(new CallObservation(pool.Numbers[0], "afterRelease", now, Guid.NewGuid(), now.AddSeconds(-delay)));
        // Observations are one-way messages, which Orleans does not promise to deliver in order with the questions after them.
        var load = await LoadOnce(grain, l => l.Delays.Observations == 100);
        var rules = await grain.LateCallRules();

        Assert.Equal((120, "observed"), (rules.RestSeconds, rules.RestFrom));
        Assert.Equal((100L, 5.0, 120.0), (load.Delays.Observations, load.Delays.P50, load.Delays.P99));

        // One visitor after another: one number held at a time, but the first rests while the second holds.
        var first = await Visit(pool, "first");
        await Task.Delay(TimeSpan.FromSeconds(2.3));
        var second = await Visit(pool, "second");
        var health = await _dni.Service<PoolHealthQuery>().ComputeAsync(pool.Tenant, pool.Id, await grain.Load(), 1, DateTime.UtcNow.AddHours(-1));
        Assert.NotEqual(first.Number, second.Number);
        Assert.Equal((1, 2), (health.PeakConcurrentLeases, health.PeakDemand));
        Assert.Equal((4, 120), (health.RecommendedSize, health.RecommendedRestSeconds));   // ceil(2 × 1.25) + 1
    }

    [Fact]
    public async Task Ambiguous_and_unknown_calls_keep_every_report_and_model_conserved()
    {
        var pool = await PoolAsync(size: 1, restSeconds: 600);
        var first = await Visit(pool, "first");
        await CallAsync(pool, first.Number, DateTime.UtcNow, "+14155550101");   // live
        await Task.Delay(TimeSpan.FromSeconds(2.3));
        var second = await Visit(pool, "second");
        await CallAsync(pool, second.Number, DateTime.UtcNow, "+14155550102");   // ambiguous
        await CallAsync(pool, pool.Overflow, DateTime.UtcNow, "+14155550103");   // overflow

        var rollups = _dni.Service<RollupStore>();
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var totals = await rollups.TotalsAsync(pool.Tenant, "ny", today.AddDays(-1), today.AddDays(1));
        Assert.Equal(3, totals.Calls);
        foreach (var model in AttributionModels.All)
        {
            var rows = await rollups.ReportAsync(pool.Tenant, "ny",
                new ReportQuery(today.AddDays(-1), today.AddDays(1), "source", model, AttributionModels.DefaultHalfLifeDays), () => Task.FromResult<List<CallContribution>>([]));
            Assert.Equal(3, rows.Sum(r => r.Measures.Calls));
            Assert.Equal(1, rows.Where(r => r.Source == "google").Sum(r => r.Measures.Calls));
        }
    }
}
