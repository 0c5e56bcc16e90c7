using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>Reports, spend and rebuilds through the real gateway, on calls made by signed carrier webhooks to the demo brand.</summary>
[Collection(ProcessTests.Name)]
public sealed class ReportsApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>, IAsyncLifetime
{
    private const string Tenant = "bluebonnet";
    private ProcessCluster Cluster => fixture.Cluster;
    private TwilioCarrier Carrier => new(fixture.Cluster);
    private string Admin => Cluster.Token(Tenant, Roles.BrandAdmin);

    // The demo brand's locations are all in Central time: its calls count on Chicago's day.
    private static readonly DateOnly Today = DateOnly.FromDateTime(
        TimeZoneInfo.ConvertTimeFromUtc(DateTime.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Chicago")));

    public Task InitializeAsync() => Carrier.RegisterAsync(Tenant, Admin);

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<string> CallAsync(string to, int? talkSeconds = null)
    {
        var callSid = TwilioCarrier.NewCallSid();
        using var inbound = await Carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, to));
        Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
        if (talkSeconds is { } talk) await Carrier.CompleteAsync(callSid, talk);
        return callSid;
    }

    private async Task<Dictionary<string, JsonElement>> LocationRows(string range) =>
        Rows(await Get($"/v1/tenants/{Tenant}/reports/locations?{range}", Admin));

    private Task UntilCalls(string range, string location, decimal calls) =>
        Rollups.UntilCallsAsync(Cluster, Admin, Tenant, location, calls, range);

    private async Task<JsonElement> Get(string path, string token)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, path, token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static Dictionary<string, JsonElement> Rows(JsonElement report) =>
        report.GetProperty("items").EnumerateArray().ToDictionary(r => r.GetProperty("location").GetString() ?? "(unassigned)", r => r.GetProperty("measures"));

    private static decimal Number(JsonElement measures, string name) => measures.GetProperty(name).GetDecimal();

    private static void AssertTotalsAreTheSumOfTheRows(JsonElement report)
    {
        var totals = report.GetProperty("totals");
        foreach (var measure in new[] { "calls", "answered", "missed", "firstTime", "qualified", "sales", "revenue", "spend" })
            Assert.Equal(Number(totals, measure), Rows(report).Values.Sum(r => Number(r, measure)));
    }

    [Fact]
    public async Task Each_reader_sees_the_rows_of_its_scope_with_totals_that_are_their_sum_and_money_from_calls_outcomes_and_spend()
    {
        var range = $"from={Today.AddDays(-1):yyyy-MM-dd}&to={Today:yyyy-MM-dd}";
        var before = await LocationRows(range);

        var sold = await CallAsync("+15125550180", talkSeconds: 95);    // Austin downtown's GBP number, answered and qualified
        await CallAsync("+15125550180");                                 // …still ringing
        await CallAsync("+12815550122", talkSeconds: 20);                // a Katy pool number nobody held: answered, too short to qualify
        using (var outcome = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{sold}/outcome", Admin, new { outcome = "sale", value = 250.00m }))
            Assert.Equal(HttpStatusCode.OK, outcome.StatusCode);
        using (var spend = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/spend", Admin,
                   new { rows = new[] { new { date = $"{Today:yyyy-MM-dd}", location = "austin-downtown", source = "google", campaign = "gbp-listing", cost = 50.00m, currency = "USD" } } }))
            Assert.Equal(HttpStatusCode.OK, spend.StatusCode);
        await UntilCalls(range, "austin-downtown", Number(before["austin-downtown"], "calls") + 2);

        var brand = await Get($"/v1/tenants/{Tenant}/reports/locations?{range}", Admin);
        var rows = Rows(brand);
        Assert.Equal(25, rows.Count);   // 24 locations and the brand's unassigned row
        var austin = rows["austin-downtown"];
        Assert.Equal((2m, 1m, 1m, 1m, 250m, 50m), (Number(austin, "calls") - Number(before["austin-downtown"], "calls"),
            Number(austin, "answered") - Number(before["austin-downtown"], "answered"), Number(austin, "qualified") - Number(before["austin-downtown"], "qualified"),
            Number(austin, "sales"), Number(austin, "revenue"), Number(austin, "spend")));
        Assert.Equal(decimal.Round(50m / Number(austin, "calls"), 2), Number(austin, "costPerCall"));
        Assert.Equal(decimal.Round(250m / 50m, 4), Number(austin, "roas"));
        decimal Added(string measure) => Number(rows["katy"], measure) - Number(before["katy"], measure);
        Assert.Equal((1m, 1m, 0m), (Added("calls"), Added("answered"), Added("qualified")));
        AssertTotalsAreTheSumOfTheRows(brand);

        // A location manager: its one location, and totals of that location only.
        var katyManager = Cluster.Token(Tenant, Roles.LocationManager, ["katy"]);
        var own = await Get($"/v1/tenants/{Tenant}/reports/locations?{range}", katyManager);
        Assert.Equal(["katy"], Rows(own).Keys);
        AssertTotalsAreTheSumOfTheRows(own);
        // A market manager: the Austin market's six locations and their sum; by market, one row.
        var austinManager = Cluster.Token(Tenant, Roles.MarketManager, markets: ["austin"]);
        var market = await Get($"/v1/tenants/{Tenant}/reports/locations?{range}", austinManager);
        Assert.Equal(6, Rows(market).Count);
        AssertTotalsAreTheSumOfTheRows(market);
        var markets = await Get($"/v1/tenants/{Tenant}/reports/markets?{range}", austinManager);
        Assert.Equal("austin", Assert.Single(markets.GetProperty("items").EnumerateArray()).GetProperty("market").GetString());
        Assert.Equal(Number(market.GetProperty("totals"), "calls"), Number(markets.GetProperty("totals"), "calls"));

        // Another location's report is not found for the Katy manager; its own is, by source, spend joined.
        using (var other = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations/austin-downtown/report?{range}", katyManager))
            await ProblemAssert.Is(other, HttpStatusCode.NotFound, "not-found");
        var bySource = await Get($"/v1/tenants/{Tenant}/locations/austin-downtown/report?{range}&groupBy=campaign&model=linear", Admin);
        var gbp = bySource.GetProperty("items").EnumerateArray().Single(r => r.GetProperty("key").GetString() == "google/gbp-listing").GetProperty("measures");
        Assert.Equal((250m, 50m), (Number(gbp, "revenue"), Number(gbp, "spend")));
        var byDay = await Get($"/v1/tenants/{Tenant}/locations/austin-downtown/report?{range}&groupBy=day", Admin);
        Assert.Equal(Number(byDay.GetProperty("totals"), "calls"), byDay.GetProperty("items").EnumerateArray().Sum(r => Number(r.GetProperty("measures"), "calls")));
    }

    [Fact]
    public async Task The_daily_overview_sums_the_same_rollups_by_day_and_source_with_the_previous_period_in_each_readers_scope()
    {
        var (from, to) = (Today.AddDays(-6), Today);
        var range = $"from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}";
        var before = await Get($"/v1/tenants/{Tenant}/reports/daily?{range}", Admin);
        var austinBefore = Number((await LocationRows(range))["austin-downtown"], "calls");
        await CallAsync("+15125550180", talkSeconds: 95);
        await UntilCalls(range, "austin-downtown", austinBefore + 1);

        var daily = await Get($"/v1/tenants/{Tenant}/reports/daily?{range}", Admin);
        var days = daily.GetProperty("days").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(0, 7).Select(i => from.AddDays(i).ToString("yyyy-MM-dd")), days.Select(d => d.GetProperty("day").GetString()));
        var totals = daily.GetProperty("totals");
        Assert.Equal(Number(before.GetProperty("totals"), "calls") + 1, Number(totals, "calls"));
        Assert.Equal(Number(before.GetProperty("days")[6].GetProperty("measures"), "calls") + 1, Number(days[6].GetProperty("measures"), "calls"));
        // Each day's sources add up to its calls; the days add up to the totals, which are the locations report's.
        foreach (var day in days)
            Assert.Equal(Number(day.GetProperty("measures"), "calls"), day.GetProperty("callsBySource").EnumerateObject().Sum(s => s.Value.GetDecimal()));
        var brand = (await Get($"/v1/tenants/{Tenant}/reports/locations?{range}", Admin)).GetProperty("totals");
        foreach (var measure in new[] { "calls", "answered", "missed", "qualified", "revenue", "spend" })
        {
            Assert.Equal(Number(brand, measure), Number(totals, measure));
            Assert.Equal(Number(totals, measure), days.Sum(d => Number(d.GetProperty("measures"), measure)));
        }
        // The period before is as long and ends the day before.
        Assert.Equal((from.AddDays(-7).ToString("yyyy-MM-dd"), from.AddDays(-1).ToString("yyyy-MM-dd")),
            (daily.GetProperty("previousFrom").GetString(), daily.GetProperty("previousTo").GetString()));
        var earlier = (await Get($"/v1/tenants/{Tenant}/reports/locations?from={from.AddDays(-7):yyyy-MM-dd}&to={from.AddDays(-1):yyyy-MM-dd}", Admin))
            .GetProperty("totals");
        Assert.Equal(Number(earlier, "calls"), Number(daily.GetProperty("previous"), "calls"));

        // Scopes: a location manager's overview is its location's; a market manager's its market's; another location is
        // not found for the first, and a brand admin can narrow to either.
        var katyManager = Cluster.Token(Tenant, Roles.LocationManager, ["katy"]);
        var katy = (await Get($"/v1/tenants/{Tenant}/reports/locations?{range}", katyManager)).GetProperty("totals");
        Assert.Equal(Number(katy, "calls"), Number((await Get($"/v1/tenants/{Tenant}/reports/daily?{range}", katyManager)).GetProperty("totals"), "calls"));
        Assert.Equal(Number(katy, "calls"),
            Number((await Get($"/v1/tenants/{Tenant}/reports/daily?{range}&location=katy", Admin)).GetProperty("totals"), "calls"));
        using (var other = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/daily?{range}&location=austin-downtown", katyManager))
            await ProblemAssert.Is(other, HttpStatusCode.NotFound, "not-found");
        var austinManager = Cluster.Token(Tenant, Roles.MarketManager, markets: ["austin"]);
        var market = (await Get($"/v1/tenants/{Tenant}/reports/locations?{range}", austinManager)).GetProperty("totals");
        Assert.True(Number(market, "calls") >= 1);
        Assert.Equal(Number(market, "calls"), Number((await Get($"/v1/tenants/{Tenant}/reports/daily?{range}", austinManager)).GetProperty("totals"), "calls"));
        Assert.Equal(Number(market, "calls"),
            Number((await Get($"/v1/tenants/{Tenant}/reports/daily?{range}&market=austin", Admin)).GetProperty("totals"), "calls"));
    }

    [Theory]
    [InlineData("/reports/locations?from=2026-13-01", "from")]
    [InlineData("/reports/locations?from=2026-11-20&to=2026-11-01", "from")]
    [InlineData("/reports/locations?model=most-recent", "model")]
    [InlineData("/locations/katy/report?groupBy=hour", "groupBy")]
    [InlineData("/locations/katy/report?model=time-decay&halfLifeDays=0", "halfLifeDays")]
    [InlineData("/reports/daily?to=2026-02-30", "to")]
    public async Task Bad_report_parameters_are_named_in_a_400(string path, string field)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}{path}", Admin);
        await ProblemAssert.Is(response, HttpStatusCode.BadRequest, "validation", field);
    }

    private Task<HttpResponseMessage> ImportCsv(string csv, string query = "", string? token = null) =>
        Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/spend{query}", token ?? Admin, new StringContent(csv, Encoding.UTF8, "text/csv"));

    private async Task<(decimal Austin, decimal Plano, decimal Unassigned)> SpendOn(string day)
    {
        var rows = await LocationRows($"from={day}&to={day}");
        return (Number(rows["austin-downtown"], "spend"), Number(rows["plano"], "spend"), Number(rows["(unassigned)"], "spend"));
    }

    [Fact]
    public async Task Spend_imported_from_an_ad_platform_csv_is_replaced_by_a_reimport_and_another_currency_is_refused()
    {
        // As Google Ads exports it: a title, a date range, the header, rows, a total line.
        const string export = """
            Campaign report
            "November 1, 2026 - November 30, 2026"
            Day,Campaign,Location,Cost,Currency code
            2026-11-02,Search - Austin,austin-downtown,"1,200.50",USD
            2026-11-02,Search - Plano,plano,80.25,USD
            2026-11-02,Brand - Texas,,300.00,USD
            Total: Account,,,"1,580.75",
            """;
        using (var imported = await ImportCsv(export, "?source=google"))
        {
            Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
            var body = await imported.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal((3, 0), (body.GetProperty("imported").GetInt32(), body.GetProperty("replaced").GetInt32()));
        }
        Assert.Equal((1200.50m, 80.25m, 300.00m), await SpendOn("2026-11-02"));

        // The same day and campaign again: replaced, not added.
        using (var again = await ImportCsv("date,source,campaign,location,cost\n2026-11-02,google,Search - Austin,austin-downtown,99.99\n"))
            Assert.Equal(1, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replaced").GetInt32());
        Assert.Equal((99.99m, 80.25m, 300.00m), await SpendOn("2026-11-02"));

        // One bad row refuses the whole import: another currency, an unknown location, a bad date, a negative cost.
        using (var euros = await ImportCsv("date,source,campaign,location,cost,currency\n2026-11-02,google,Search - Plano,plano,1.00,USD\n2026-11-02,google,Search - Austin,austin-downtown,5.00,EUR\n"))
            await ProblemAssert.Is(euros, HttpStatusCode.BadRequest, "validation", "rows[1].currency");
        using (var nowhere = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/spend", Admin,
                   new { rows = new[] { new { date = "2026-11-02", location = "atlantis", source = "google", campaign = "x", cost = "1" } } }))
            await ProblemAssert.Is(nowhere, HttpStatusCode.BadRequest, "validation", "rows[0].location");
        using (var badDate = await ImportCsv("date,source,cost\n11/02/2026,google,1.00\n"))
            await ProblemAssert.Is(badDate, HttpStatusCode.BadRequest, "validation", "rows[0].date");
        using (var negative = await ImportCsv("date,source,cost\n2026-11-02,google,-1\n"))
            await ProblemAssert.Is(negative, HttpStatusCode.BadRequest, "validation", "rows[0].cost");
        using (var noHeader = await ImportCsv("hello,world\n"))
            await ProblemAssert.Is(noHeader, HttpStatusCode.BadRequest, "validation", "csv");
        Assert.Equal((99.99m, 80.25m, 300.00m), await SpendOn("2026-11-02"));

        // Only brand admins (or a spend:write key) import spend.
        using (var manager = await ImportCsv(export, "?source=google", Cluster.Token(Tenant, Roles.LocationManager, ["plano"])))
            await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task A_rules_change_shows_in_reports_until_a_rebuild_job_requalifies_history_and_only_brand_admins_run_one()
    {
        var today = $"from={Today:yyyy-MM-dd}&to={Today:yyyy-MM-dd}";
        var katy = Number((await LocationRows(today))["katy"], "answered");
        await CallAsync("+12815550122", talkSeconds: 20);   // answered, too short for the brand's 60 s rule
        await Rollups.UntilCallsAsync(Cluster, Admin, Tenant, "katy", katy + 1, today, "answered");
        using (var spend = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/spend", Admin,
                   new { rows = new[] { new { date = $"{Today:yyyy-MM-dd}", location = "katy", source = "google", campaign = "rules-test", cost = 12.34m, currency = "USD" } } }))
            Assert.Equal(HttpStatusCode.OK, spend.StatusCode);
        var before = await Get($"/v1/tenants/{Tenant}/reports/locations?{today}", Admin);
        var qualifiedBefore = Number(Rows(before)["katy"], "qualified");
        Assert.True(Number(Rows(before)["katy"], "spend") >= 12.34m);
        Assert.True(before.GetProperty("rules").GetProperty("historyCurrent").GetBoolean());

        // Katy counts calls of 10 s or more from now on: new calls use it at once, history waits for a rebuild.
        var location = System.Text.Json.Nodes.JsonNode.Parse((await Get($"/v1/tenants/{Tenant}/locations/katy", Admin)).GetRawText())!.AsObject();
        var original = location["conversionRules"]?.DeepClone();
        location["conversionRules"] = new System.Text.Json.Nodes.JsonObject { ["requireAnswered"] = true, ["minDurationSeconds"] = 10 };
        using (var put = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/katy", Admin, location))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        try
        {
            var changed = (await Get($"/v1/tenants/{Tenant}/reports/locations?{today}", Admin)).GetProperty("rules");
            Assert.False(changed.GetProperty("historyCurrent").GetBoolean());
            Assert.Equal(qualifiedBefore, Number(Rows(await Get($"/v1/tenants/{Tenant}/reports/locations?{today}", Admin))["katy"], "qualified"));

            using (var manager = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/rollups/rebuild", Cluster.Token(Tenant, Roles.LocationManager, ["katy"])))
                await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
            using var started = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/rollups/rebuild", Admin);
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();
            Assert.EndsWith($"/jobs/{jobId}", started.Headers.Location!.ToString());
            var job = await Rollups.UntilJobDoneAsync(Cluster, Admin, Tenant, jobId);
            Assert.Equal((1m, "done"), (job.GetProperty("progress").GetDecimal(), job.GetProperty("state").GetString()));
            Assert.True(job.GetProperty("counts").GetProperty("requalifiedCalls").GetInt64() >= 1);
            Assert.Equal(job.GetProperty("total").GetInt32(), job.GetProperty("done").GetInt32());

            var after = await Get($"/v1/tenants/{Tenant}/reports/locations?{today}", Admin);
            Assert.True(after.GetProperty("rules").GetProperty("historyCurrent").GetBoolean());
            // The rebuild replaced the day rows; their spend is the spend table's again.
            Assert.Equal(Number(before.GetProperty("totals"), "spend"), Number(after.GetProperty("totals"), "spend"));
            Assert.True(Number(Rows(after)["katy"], "qualified") > qualifiedBefore);
            AssertTotalsAreTheSumOfTheRows(after);

            // A job is the tenant's own: another brand's admin does not find it, a location manager may not read it.
            using (var stranger = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/jobs/{jobId}", Cluster.Token("other-brand", Roles.BrandAdmin)))
                Assert.Equal(HttpStatusCode.NotFound, stranger.StatusCode);
            using (var manager = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/jobs/{jobId}", Cluster.Token(Tenant, Roles.LocationManager, ["katy"])))
                await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
        }
        finally
        {
            location["conversionRules"] = original;
            using var restore = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/katy", Admin, location);
            using var rebuild = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/locations/katy/report/rebuild", Admin);
            Assert.Equal(HttpStatusCode.OK, rebuild.StatusCode);
            Assert.True((await rebuild.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requalifiedCalls").GetInt32() >= 1);
        }
    }

    [Fact]
    public async Task A_location_rebuild_from_the_calls_table_finds_the_live_rollups_already_equal_and_only_brand_admins_start_one()
    {
        var today = $"from={Today:yyyy-MM-dd}&to={Today:yyyy-MM-dd}";
        var katy = Number((await LocationRows(today))["katy"], "calls");
        await CallAsync("+15125550180", talkSeconds: 70);
        await CallAsync("+12815550123");   // still ringing
        await UntilCalls(today, "katy", katy + 1);

        using (var one = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/locations/katy/report/rebuild", Admin))
        {
            var result = await one.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(result.GetProperty("calls").GetInt32() >= 1);
            Assert.Equal((0, 0), (result.GetProperty("changedBuckets").GetInt32(), result.GetProperty("requalifiedCalls").GetInt32()));
        }
        using (var manager = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/locations/katy/report/rebuild", Cluster.Token(Tenant, Roles.LocationManager, ["katy"])))
            await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
    }
}
