using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Pools;
using CallMesh.Reports;
using CallMesh.Tenants;
using CallMesh.Tests.Infrastructure;
using Npgsql;

namespace CallMesh.Tests.Reports;

/// <summary>Location rollups against the calls table, on a real silo with PostgreSQL.</summary>
public sealed class RollupTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private readonly DniSetup _dni = new(fixture);
    private static int _calls;

    private static readonly Dictionary<string, string> Zones = new()
    {
        ["la"] = "America/Los_Angeles", ["ny"] = "America/New_York", [RollupStore.Unassigned] = "UTC",
    };

    private sealed record Brand(string Tenant, List<string> Offline, List<string> Pool, string Overflow, string Unassigned);

    /// <summary>Los Angeles with three offline numbers, New York with one and a DNI pool, and a number of no location.</summary>
    private async Task<Brand> BrandAsync()
    {
        var tenant = $"r-{Guid.NewGuid():N}"[..12];
        await fixture.Grains.GetGrain<ITenantGrain>(tenant).Put(new TenantConfig("Acme", "America/Chicago", "USD",
            new ConversionRules(RequireAnswered: true, MinDurationSeconds: 30)));
        List<OpeningHours> hours = [.. LocationRules.Days.Select(d => new OpeningHours(d, "00:00", "23:59"))];
        foreach (var (id, zone) in Zones.Where(z => z.Key != RollupStore.Unassigned))
            Assert.Equal(SaveOutcome.Created, (await fixture.Grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, id)).Put(new LocationConfig(
                $"Acme {id}", new PostalAddress("1 Main St", "City", "CA", "90001", "US"), "+12135550100", "+12135550101", zone, hours,
                null, null, null, id == "la" ? "west" : "east", null))).Outcome);

        var numbers = DniSetup.NewNumbers(9);
        var directory = _dni.Service<NumberDirectory>();
        await directory.ImportAsync(tenant, numbers.Select(n => new NumberImport(n, "twilio", null)).ToList());
        Assert.Null(await directory.AssignStaticAsync(tenant, "la", new StaticNumber("billboard", numbers[0], "billboard", "I-10", "lamar", "spring")));
        Assert.Null(await directory.AssignStaticAsync(tenant, "la", new StaticNumber("radio", numbers[1], "radio", "KXYZ", "kxyz", null)));
        Assert.Null(await directory.AssignStaticAsync(tenant, "la", new StaticNumber("gbp", numbers[2], "gbp", "GBP", "google", "gbp")));
        Assert.Null(await directory.AssignStaticAsync(tenant, "ny", new StaticNumber("print", numbers[3], "print", "Times", "times", "fall")));
        await fixture.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, "ny-web")).Put(new PoolConfig("ny", numbers[4..7], 1800, 300, numbers[7]));
        return new Brand(tenant, numbers[..4], numbers[4..7], numbers[7], numbers[8]);
    }

    private ICallGrain Call(string tenant, out string callId)
    {
        callId = $"CA{Interlocked.Increment(ref _calls):D32}";
        return fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(tenant, callId));
    }

    private RollupStore Store => _dni.Service<RollupStore>();

    private Task<RebuildResult?> Rebuild(string tenant, string location) =>
        _dni.Service<RollupRebuilder>().RebuildAsync(tenant, location == RollupStore.Unassigned ? null : location);

    private Task<List<ReportRow>> Report(string tenant, string location, ReportQuery query) =>
        Store.ReportAsync(tenant, location, query, async () =>
            [.. (await _dni.Service<CallStore>().ForRollupAsync(tenant, location, query.From, query.To)).Select(Contributions.From)]);

    [Fact]
    public async Task After_random_repeated_and_reordered_deliveries_every_rollup_equals_a_group_by_over_the_calls_table_and_a_rebuild_changes_nothing()
    {
        var brand = await BrandAsync();
        var random = new Random(20261123);
        var blocked = "+14155550666";
        await fixture.Grains.GetGrain<ICallerGrain>(TenantKey.For(brand.Tenant, blocked)).SetBlocked(true, "spam");
        List<string> callers = [.. Enumerable.Range(0, 12).Select(i => $"+1415555{i:D4}"), blocked];
        List<string> targets = [.. brand.Offline, brand.Overflow, brand.Unassigned];
        // Instants around local midnights: 07:00–09:00 UTC is midnight in Los Angeles, 04:00–06:00 in New York.
        var monday = new DateTime(2026, 11, 23, 0, 0, 0, DateTimeKind.Utc);

        var streams = new List<Func<Task>>();
        for (var i = 0; i < 150; i++)
        {
            var call = Call(brand.Tenant, out _);
            var startedAt = monday.AddDays(random.Next(3)).AddHours(random.Next(4) switch { 0 => 4, 1 => 5, 2 => 7, _ => 8 })
                .AddMinutes(random.Next(60)).AddSeconds(random.Next(60));
            var inbound = new InboundCall("AC1", callers[random.Next(callers.Count)], targets[random.Next(targets.Count)], startedAt);
            var operations = Deliveries(random).Select(d => (Func<Task>)(() => call.Apply(d))).ToList();
            // Outcomes from the CRM: changed, repeated with the same external id, or withdrawn by a later one.
            for (var o = random.Next(4); o > 0; o--)
            {
                var outcome = new CallOutcome(random.Next(3) switch { 0 => "sale", 1 => "appointment", _ => "spam" },
                    random.Next(3) == 0 ? null : random.Next(10, 5000) + random.Next(100) / 100m, "USD", $"crm-{random.Next(2)}");
                operations.Add(() => call.SetOutcome(outcome));
            }
            operations.Add(() => call.Start(inbound));   // the carrier retrying its first webhook
            var shuffled = operations.OrderBy(_ => random.Next()).ToList();
            streams.Add(async () =>
            {
                await call.Start(inbound);
                foreach (var operation in shuffled) await operation();
            });
        }
        await Task.WhenAll(streams.Select(s => Task.Run(s)));

        foreach (var location in Zones.Keys)
        {
            var truth = await GroundTruth(brand.Tenant, location);
            Assert.True(truth.Count > 0, $"no calls for {location}");
            Assert.True(await SameAsTruth(brand.Tenant, location), $"{location}: the live rollup is not the calls table's GROUP BY");

            var rebuilt = (await Rebuild(brand.Tenant, location))!;
            Assert.Equal((0, 0), (rebuilt.ChangedBuckets, rebuilt.RequalifiedCalls));
            Assert.True(await SameAsTruth(brand.Tenant, location));
        }
        // Every month row is the sum of its day rows.
        Assert.Equal(0, await fixture.Database.Scalar<long>(
            """
            SELECT count(*) FROM callmesh.rollup_months m FULL JOIN (
                SELECT tenant_id, location_id, date_trunc('month', day)::date AS month, sum(calls) AS calls, sum(revenue) AS revenue,
                       sum(qualified) AS qualified, sum(sales) AS sales FROM callmesh.rollup_days WHERE tenant_id = $1 GROUP BY 1, 2, 3) d
              USING (tenant_id, location_id, month)
             WHERE coalesce(m.tenant_id, d.tenant_id) = $1
               AND (m.calls IS DISTINCT FROM d.calls OR m.revenue IS DISTINCT FROM d.revenue OR m.qualified IS DISTINCT FROM d.qualified
                    OR m.sales IS DISTINCT FROM d.sales)
            """, brand.Tenant));
        // The blocked caller's calls are in the table but in no rollup.
        Assert.True(await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1 AND route = 'blocked'", brand.Tenant) > 0);

        // A change the rollup was never told of (a lost notice): only a rebuild from the table brings it in.
        Assert.Equal(1, await fixture.Database.Scalar<long>(
            """
            WITH changed AS (
                UPDATE callmesh.calls SET outcome = 'sale', value = 123.45, revision = revision + 1
                 WHERE call_id = (SELECT call_id FROM callmesh.calls WHERE tenant_id = $1 AND location_id = 'la' AND route <> 'blocked'
                                   AND coalesce(outcome, '') <> 'sale' LIMIT 1)
                RETURNING 1)
            SELECT count(*) FROM changed
            """, brand.Tenant));
        Assert.False(await SameAsTruth(brand.Tenant, "la"));
        Assert.True((await Rebuild(brand.Tenant, "la"))!.ChangedBuckets > 0);
        Assert.True(await SameAsTruth(brand.Tenant, "la"));
    }

    [Fact]
    public async Task A_change_PostgreSQL_refuses_fails_alone_and_the_changes_written_beside_it_are_recorded_and_counted()
    {
        var brand = await BrandAsync();
        var startedAt = DateTime.UtcNow.AddMinutes(-5);
        var calls = Enumerable.Range(0, 40).Select(_ => Call(brand.Tenant, out string _)).ToList();
        await Task.WhenAll(calls.Select((call, i) => call.Start(new InboundCall("AC1", $"+1415556{i:D4}", brand.Offline[i % 4], startedAt))));

        // Many changes at once share the writer's transactions; one of them carries text PostgreSQL cannot store (a NUL).
        var poisoned = calls[17];
        var results = await Task.WhenAll(calls.Select(async Task<bool> (call) =>
        {
            try
            {
                return call == poisoned
                    ? (await call.SetOutcome(new CallOutcome("sale", 100m, "USD", "crm-1", "bad\0note"))).Found
                    : (await call.SetOutcome(new CallOutcome("sale", 100m, "USD", "crm-1"))).Found;
            }
            // PostgreSQL's refusal (its exception reaches the client as Orleans' "no codec for PostgresException").
            catch (Exception) when (call == poisoned)
            {
                return false;
            }
        }));

        Assert.False(results[17]);
        Assert.Equal(39, results.Count(found => found));
        Assert.Equal(39, await fixture.Database.Scalar<long>(
            "SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1 AND outcome = 'sale'", brand.Tenant));
        Assert.Null((await poisoned.Get())!.Outcome);
        foreach (var location in new[] { "la", "ny" }) Assert.True(await SameAsTruth(brand.Tenant, location), location);
    }

    /// <summary>Whether every bucket of the rollup equals the calls table's GROUP BY, and no bucket is missing or extra.</summary>
    private async Task<bool> SameAsTruth(string tenant, string location)
    {
        var truth = await GroundTruth(tenant, location);
        var live = (await Store.LastTouchBucketsAsync(tenant, location)).ToDictionary(b => (b.Day, b.Source, b.Medium, b.Campaign, b.Keyword), b => b.Measures);
        return truth.Count == live.Count && truth.All(t => live.TryGetValue(t.Key, out var measures) && measures.SameAs(t.Value));
    }

    /// <summary>A call's carrier deliveries: some complete, some left ringing; repeats included.</summary>
    private static List<CallEvent> Deliveries(Random random)
    {
        var talk = random.Next(0, 400);
        var answered = random.Next(3) > 0;
        var duration = talk + random.Next(5, 40);
        var events = new List<CallEvent> { new("inbound:1", "inbound", "ringing", null, null), new("inbound:2", "inbound", "in-progress", null, null) };
        if (random.Next(5) > 0)
        {
            events.Add(answered ? new("dialed:1", "dialed", "in-progress", null, null) : new("dialed:1", "dialed", "no-answer", 0, null));
            if (answered) events.Add(new("dialed:2", "dialed", "completed", talk, null));
            // Nobody answered: sometimes the caller then leaves a message (the dial result says the call goes on to voicemail).
            var voicemail = !answered && random.Next(2) == 0;
            events.Add(new("dial-result", "dial-result", answered ? "completed" : "no-answer", answered ? talk : 0, null, answered, Step: 1, Continues: voicemail));
            if (voicemail) events.Add(new("voicemail", "voicemail", "recorded", 12, "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"));
            events.Add(new("inbound:3", "inbound", "completed", duration, null));
        }
        return [.. events, .. events.Where(_ => random.Next(3) == 0)];
    }

    /// <summary>The rollup's definition, in SQL, from the calls table alone (days from each location's time zone).</summary>
    private async Task<Dictionary<(DateOnly, string, string, string?, string?), Measures>> GroundTruth(string tenant, string location)
    {
        await using var connection = new NpgsqlConnection(fixture.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT (started_at AT TIME ZONE $3)::date, source, medium, campaign, keyword, count(*),
                   count(*) FILTER (WHERE answered), count(*) FILTER (WHERE ended_at IS NOT NULL AND NOT answered),
                   count(*) FILTER (WHERE first_time), count(*) FILTER (WHERE qualified),
                   coalesce(sum(value) FILTER (WHERE outcome IS NOT NULL), 0), sum(duration_seconds),
                   count(*) FILTER (WHERE outcome = 'sale'), count(*) FILTER (WHERE outcome = 'appointment'), count(*) FILTER (WHERE outcome = 'spam'),
                   count(*) FILTER (WHERE voicemail AND NOT answered), coalesce(sum(ring_seconds) FILTER (WHERE answered), 0),
                   count(*) FILTER (WHERE answered AND ring_seconds IS NOT NULL)
              FROM callmesh.calls
             WHERE tenant_id = $1 AND location_id IS NOT DISTINCT FROM $2 AND NOT is_test AND route <> 'blocked'
             GROUP BY 1, 2, 3, 4, 5
            """, connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = location == RollupStore.Unassigned ? DBNull.Value : location, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = Zones[location] });
        var truth = new Dictionary<(DateOnly, string, string, string?, string?), Measures>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            var outcomes = new Dictionary<string, decimal> { ["sale"] = reader.GetInt64(12), ["appointment"] = reader.GetInt64(13), ["spam"] = reader.GetInt64(14) };
            truth[(reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetString(2), S(3), S(4))] = new Measures
            {
                Calls = reader.GetInt64(5), Answered = reader.GetInt64(6), Missed = reader.GetInt64(7), FirstTime = reader.GetInt64(8),
                Qualified = reader.GetInt64(9), Revenue = reader.GetDecimal(10), DurationSeconds = reader.GetInt64(11),
                Outcomes = outcomes.Where(o => o.Value > 0).ToDictionary(),
                Voicemails = reader.GetInt64(15), RingSeconds = reader.GetInt64(16), RingTimed = reader.GetInt64(17),
            };
        }
        return truth;
    }

    [Fact]
    public async Task A_call_counts_on_its_locations_local_day()
    {
        var brand = await BrandAsync();
        // 07:30 UTC on 24 November is 23:30 on the 23rd in Los Angeles and 02:30 on the 24th in New York.
        var at = new DateTime(2026, 11, 24, 7, 30, 0, DateTimeKind.Utc);
        await Call(brand.Tenant, out _).Start(new InboundCall("AC1", "+14155550001", brand.Offline[0], at));
        await Call(brand.Tenant, out _).Start(new InboundCall("AC1", "+14155550001", brand.Offline[3], at));

        Assert.Equal(new DateOnly(2026, 11, 23), Assert.Single(await Store.LastTouchBucketsAsync(brand.Tenant, "la")).Day);
        Assert.Equal(new DateOnly(2026, 11, 24), Assert.Single(await Store.LastTouchBucketsAsync(brand.Tenant, "ny")).Day);
        Assert.Equal(1, (await Store.TotalsAsync(brand.Tenant, "la", new(2026, 11, 23), new(2026, 11, 23))).Calls);
        Assert.Equal(0, (await Store.TotalsAsync(brand.Tenant, "la", new(2026, 11, 24), new(2026, 11, 24))).Calls);
    }

    [Fact]
    public async Task Multi_touch_models_share_a_call_among_the_visitors_touches_and_test_sessions_count_for_nothing()
    {
        var brand = await BrandAsync();
        var visitor = Guid.NewGuid();
        // Three paid clicks in one session: google, then facebook, then bing (the one that held the number).
        static string Ad(string source) => $"https://acme.example/ny?utm_source={source}&utm_medium=cpc&utm_campaign={source}-fall&gclid=G-{source}";
        var session = (await _dni.Visit(brand.Tenant, "ny-web", visitor, url: Ad("google"))).SessionId;
        await _dni.Visit(brand.Tenant, "ny-web", visitor, session, Ad("facebook"));
        var number = (await _dni.Visit(brand.Tenant, "ny-web", visitor, session, Ad("bing"))).Swaps[0].Number;
        var call = Call(brand.Tenant, out _);
        await call.Start(new InboundCall("AC1", "+14155550002", number, DateTime.UtcNow));
        await call.SetOutcome(new CallOutcome("sale", 100m, "USD", null));
        Assert.Equal(["google", "facebook", "bing"], (await call.Get())!.Touches.Select(t => t.Source));

        // A test visit's call is recorded but never reported.
        var tester = await _dni.Visit(brand.Tenant, "ny-web", Guid.NewGuid(), url: "https://acme.example/ny?utm_source=qa&callmesh_test=1");
        var testCall = Call(brand.Tenant, out _);
        await testCall.Start(new InboundCall("AC1", "+14155550003", tester.Swaps[0].Number, DateTime.UtcNow));
        Assert.True((await testCall.Get())!.Attribution.IsTest);

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        async Task<Dictionary<string, (decimal Calls, decimal Revenue)>> BySource(string model, double halfLifeDays = 7)
        {
            var rows = await Report(brand.Tenant, "ny", new ReportQuery(today.AddDays(-1), today.AddDays(1), "source", model, halfLifeDays));
            return rows.ToDictionary(r => r.Key, r => (r.Measures.Calls, r.Measures.Revenue));
        }
        Assert.Equal(new() { ["bing"] = (1m, 100m) }, await BySource("last-touch"));
        Assert.Equal(new() { ["google"] = (1m, 100m) }, await BySource("first-touch"));
        Assert.Equal(new() { ["google"] = (0.333333m, 33.33m), ["facebook"] = (0.333333m, 33.33m), ["bing"] = (0.333334m, 33.34m) }, await BySource("linear"));
        Assert.Equal(new() { ["google"] = (0.4m, 40m), ["facebook"] = (0.2m, 20m), ["bing"] = (0.4m, 40m) }, await BySource("position-based"));
        var decayed = await BySource("time-decay");
        Assert.Equal((1m, 100m), (decayed.Values.Sum(v => v.Calls), decayed.Values.Sum(v => v.Revenue)));
        // A half-life the buckets do not keep is worked out from the stored paths, and gives the same as the kept one would.
        Assert.Equal(decayed, await BySource("time-decay", 7.000001));
        var slow = await BySource("time-decay", 365);
        Assert.Equal((1m, 100m), (slow.Values.Sum(v => v.Calls), slow.Values.Sum(v => v.Revenue)));
        Assert.Equal(1, (await Store.TotalsAsync(brand.Tenant, "ny", today.AddDays(-1), today.AddDays(1))).Calls);
    }
}
