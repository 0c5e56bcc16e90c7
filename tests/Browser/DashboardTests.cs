using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Tests.Api;
using CallMesh.Tests.Infrastructure;
using Microsoft.Playwright;

namespace CallMesh.Tests.Browser;

/// <summary>
/// The demo brand with calls made the way visitors make them (a DNI session on a location page, then the carrier's
/// webhooks for a call to that number), seeded once for the class, and one browser (Debian's chromium).
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Tenant = "bluebonnet";
    // A visitor controls its landing URL, so its campaign may be markup: the dashboard must show it as text.
    public const string HostileCampaign = "<img src=x onerror=\"window.__pwned=1\">spring";
    public const string PlanoRecording = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0123";

    private readonly ApiFixture _api = new();
    private IPlaywright _playwright = null!;
    public ProcessCluster Cluster => _api.Cluster;
    public IBrowser Browser { get; private set; } = null!;
    public string AustinCall { get; private set; } = null!;
    public string PlanoCall { get; private set; } = null!;
    public string KatyNumber { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _api.InitializeAsync();
        var carrier = new TwilioCarrier(Cluster);
        await carrier.RegisterAsync(Tenant, Cluster.Token(Tenant, Roles.BrandAdmin));
        // More calls than one page of the list (100) before the two the tests look for, which are then the newest.
        KatyNumber = await LeaseFromLocationPage("katy", "+17135550116", "katy-ac");
        await Parallel.ForAsync(0, 110, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, _) => await RingKatyAsync());
        AustinCall = await CallFromLocationPage(carrier, "austin-downtown", "+15125550101", Uri.EscapeDataString(HostileCampaign));
        PlanoCall = await CallFromLocationPage(carrier, "plano", "+12145550108", "plano-search", PlanoRecording);

        _playwright = await Playwright.CreateAsync();
        Browser = await Chromium.LaunchAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await _api.DisposeAsync();
    }

    /// <summary>A new call to Katy's tracking number, left ringing; answers its CallSid.</summary>
    public async Task<string> RingKatyAsync()
    {
        var callSid = TwilioCarrier.NewCallSid();
        using var inbound = await new TwilioCarrier(Cluster).Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, KatyNumber));
        Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
        return callSid;
    }

    private async Task<string> CallFromLocationPage(TwilioCarrier carrier, string location, string napPhone, string campaign,
        string? recordingUrl = null)
    {
        var number = await LeaseFromLocationPage(location, napPhone, campaign);
        var callSid = TwilioCarrier.NewCallSid();
        using var inbound = await carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, number));
        Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
        await carrier.CompleteAsync(callSid, talkSeconds: 95, recordingUrl);   // waits until the call, and so its rollup, has them
        return callSid;
    }

    /// <summary>A visitor from an ad on the location's page: the tracking number it is shown.</summary>
    private async Task<string> LeaseFromLocationPage(string location, string napPhone, string campaign)
    {
        var body = new StringContent(JsonSerializer.Serialize(new
        {
            siteKey = "bluebonnet-web", url = $"http://127.0.0.1:9999/locations/{location}?utm_source=google&utm_medium=cpc&utm_campaign={campaign}",
            targets = new[] { napPhone },
        }), Encoding.UTF8, "text/plain");
        using var session = await Cluster.SendAsync(HttpMethod.Post, "/v1/dni/sessions?siteKey=bluebonnet-web", null, body);
        Assert.Equal(HttpStatusCode.OK, session.StatusCode);
        return (await session.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0].GetProperty("number").GetString()!;
    }
}

/// <summary>The dashboard in a real browser through the real gateway, as a brand admin and as a location manager.</summary>
[Collection(ProcessTests.Name)]
public sealed class DashboardTests(DashboardFixture fixture) : IClassFixture<DashboardFixture>
{
    private const string Tenant = DashboardFixture.Tenant;
    private const string HostileCampaign = DashboardFixture.HostileCampaign;
    private ProcessCluster Cluster => fixture.Cluster;
    private IBrowser Browser => fixture.Browser;
    private string AustinCall => fixture.AustinCall;
    private string PlanoCall => fixture.PlanoCall;

    private async Task<IPage> SignInAsync(IBrowserContext context, string token)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(Cluster.Gateway, "/dashboard/").ToString());
        await page.FillAsync("#token", token);
        Assert.Equal(Tenant, await page.InputValueAsync("#tenant"));   // read from the token's claims
        await page.ClickAsync("#sign-in-form button[type=submit]");
        await LoadedAsync(page, previous: null);
        return page;
    }

    /// <summary>Waits until a load newer than <paramref name="previous"/> finished, or fails with the page's error.</summary>
    private static async Task<string> LoadedAsync(IPage page, string? previous)
    {
        await page.WaitForFunctionAsync(
            "prev => (document.body.dataset.loaded && document.body.dataset.loaded !== prev) || !document.getElementById('error').hidden",
            previous ?? "");
        Assert.True(await page.Locator("#error").IsHiddenAsync(), await page.Locator("#error").TextContentAsync());
        return (await page.EvaluateAsync<string>("() => document.body.dataset.loaded"))!;
    }

    private static Task<string[]> Column(IPage page, string rows, string attribute) =>
        page.EvaluateAsync<string[]>($"() => Array.from(document.querySelectorAll('{rows}'), r => r.dataset.{attribute})");

    private async Task<JsonElement> DailyAsync(string token, string query = "")
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/daily{query}", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static Task<string> Kpi(IPage page, string label) =>
        page.EvaluateAsync<string>("label => [...document.querySelectorAll('#kpis .kpi')].find(k => k.querySelector('dt').textContent === label)" +
                                   "?.querySelector('dd').dataset.value", label);

    [Fact]
    public async Task The_overview_charts_the_days_by_source_against_the_period_before_in_each_users_scope()
    {
        var admin = Cluster.Token(Tenant, Roles.BrandAdmin);
        var daily = await DailyAsync(admin);
        await using (var context = await Browser.NewContextAsync())
        {
            var page = await context.NewPageAsync();
            var errors = new List<string>();
            page.Console += (_, m) => { if (m.Type == "error") errors.Add($"{m.Text} ({m.Location})"); };
            page.Request += (_, r) => { if (!r.Url.StartsWith(Cluster.Gateway.ToString())) errors.Add("request elsewhere: " + r.Url); };
            await page.GotoAsync(new Uri(Cluster.Gateway, "/dashboard/").ToString());
            await page.FillAsync("#token", admin);
            await page.ClickAsync("#sign-in-form button[type=submit]");
            await LoadedAsync(page, previous: null);

            // The figures are the API's: calls, and the answer rate of this period.
            var totals = daily.GetProperty("totals");
            Assert.Equal(totals.GetProperty("calls").GetDecimal(), decimal.Parse(await Kpi(page, "Calls")));
            Assert.Equal(totals.GetProperty("answered").GetDecimal() / totals.GetProperty("calls").GetDecimal(),
                decimal.Parse(await Kpi(page, "Answered")), 6);
            // The stacked chart has a series per source whose points add up to each day's calls (drawn by the vendored
            // Chart.js, served by the gateway: no request leaves it).
            var series = await page.EvaluateAsync<JsonElement>(
                "() => window.Chart.getChart(document.getElementById('calls-by-source')).data.datasets.map(d => ({ label: d.label, data: d.data }))");
            Assert.Contains(series.EnumerateArray(), d => d.GetProperty("label").GetString() == "google");
            var days = daily.GetProperty("days").EnumerateArray().ToList();
            for (var i = 0; i < days.Count; i++)
                Assert.Equal(days[i].GetProperty("measures").GetProperty("calls").GetDecimal(),
                    series.EnumerateArray().Sum(d => d.GetProperty("data")[i].GetDecimal()));
            Assert.True(await page.Locator("#calls-by-source").IsVisibleAsync());
            Assert.Contains("google", await page.Locator("#calls-by-source").GetAttributeAsync("aria-label"));
            Assert.Equal(days.Count, await page.Locator("#daily-table tbody tr").CountAsync());
            // Best and worst locations for a brand: Katy, with its many calls, is among the best.
            Assert.Equal(5, await page.Locator("#best li").CountAsync());
            Assert.Contains("katy", await Column(page, "#best li", "location"));

            // How the phones were answered, as the answering report says: missed calls, and the weekday × hour grid's calls.
            using (var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/answering", admin))
            {
                var answering = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("totals");
                Assert.Equal(answering.GetProperty("missed").GetInt64().ToString(), await page.EvaluateAsync<string>(
                    "() => [...document.querySelectorAll('#answering-kpis .kpi')].find(k => k.querySelector('dt').textContent === 'Missed').querySelector('dd').textContent"));
                var grid = await page.EvaluateAsync<long[]>("() => [...document.querySelectorAll('#answering-hours td[data-calls]')].map(td => Number(td.dataset.calls))");
                Assert.Equal(answering.GetProperty("calls").GetInt64(), grid.Sum());
                Assert.True(answering.GetProperty("calls").GetInt64() > 100);
            }

            // One market: the overview and the locations table are its own, and the address keeps it.
            var dfw = await DailyAsync(admin, "?market=dfw");
            var loaded = await page.EvaluateAsync<string>("() => document.body.dataset.loaded");
            await page.SelectOptionAsync("#market", "dfw");
            await LoadedAsync(page, loaded);
            Assert.Equal(dfw.GetProperty("totals").GetProperty("calls").GetDecimal(), decimal.Parse(await Kpi(page, "Calls")));
            Assert.NotEqual(totals.GetProperty("calls").GetDecimal(), dfw.GetProperty("totals").GetProperty("calls").GetDecimal());
            var dfwLocations = (await (await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations?market=dfw", admin))
                .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray().Select(l => l.GetProperty("id").GetString()).ToHashSet();
            var shown = await Column(page, "#report tbody tr", "location");
            Assert.NotEmpty(shown);
            Assert.All(shown, id => Assert.Contains(id, dfwLocations));
            Assert.Contains("market=dfw", page.Url);
            Assert.True(errors.Count == 0, string.Join(" | ", errors));
        }

        // A location manager's overview is its location's; there is nothing to rank.
        var manager = Cluster.Token(Tenant, Roles.LocationManager, locations: ["katy"]);
        var own = await DailyAsync(manager);
        await using (var context = await Browser.NewContextAsync())
        {
            // Without the chart script (blocked, say, by a proxy), the table is the overview.
            await context.RouteAsync("**/chart.umd.min.js", route => route.AbortAsync());
            var page = await SignInAsync(context, manager);
            Assert.Equal(own.GetProperty("totals").GetProperty("calls").GetDecimal(), decimal.Parse(await Kpi(page, "Calls")));
            Assert.True(await page.Locator("#charts").IsHiddenAsync());
            Assert.True(await page.Locator("#daily-table").IsVisibleAsync());
            Assert.True(await page.Locator("#ranking").IsHiddenAsync());
            var tableCalls = await page.EvaluateAsync<decimal[]>(
                "() => [...document.querySelectorAll('#daily-table tbody tr')].map(r => Number(r.cells[1].textContent.replace(/,/g, '')))");
            Assert.Equal(own.GetProperty("days").EnumerateArray().Select(d => d.GetProperty("measures").GetProperty("calls").GetDecimal()), tableCalls);
        }
    }

    [Fact]
    public async Task A_brand_admin_sees_every_location_and_call_and_a_location_manager_only_its_own()
    {
        var admin = Cluster.Token(Tenant, Roles.BrandAdmin);
        using var report = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/locations", admin);
        var apiRows = (await report.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
            .Select(r => r.GetProperty("location").GetString() ?? "").ToArray();

        await using (var context = await Browser.NewContextAsync())
        {
            var page = await SignInAsync(context, admin);
            Assert.Equal(apiRows, await Column(page, "#report tbody tr", "location"));   // every location, and the unassigned row
            var calls = await Column(page, "#calls tbody tr", "call");
            Assert.Contains(AustinCall, calls);
            Assert.Contains(PlanoCall, calls);
            Assert.StartsWith("Total, 24 locations", await page.TextContentAsync("#report tfoot td"));
            Assert.Equal(["austin", "dfw", "houston", "san-antonio"], await Column(page, "#markets tbody tr", "market"));
            Assert.Equal("6", await page.TextContentAsync("#markets tr[data-market='austin'] td:nth-child(2)"));   // its locations

            // Choosing a location's row narrows the calls to that location.
            var loaded = await page.EvaluateAsync<string>("() => document.body.dataset.loaded");
            await page.ClickAsync("#report tbody tr[data-location='plano'] td");
            await LoadedAsync(page, loaded);
            Assert.Equal("plano", await page.InputValueAsync("#location"));
            var planoCalls = await Column(page, "#calls tbody tr", "location");
            Assert.NotEmpty(planoCalls);
            Assert.All(planoCalls, l => Assert.Equal("plano", l));
            Assert.Contains(PlanoCall, await Column(page, "#calls tbody tr", "call"));
            // Called while its visitor held the number: a live match.
            Assert.Equal("live", await page.TextContentAsync($"#calls tr[data-call='{PlanoCall}'] td.match"));
            var recording = page.Locator($"#calls tr[data-call='{PlanoCall}'] td.recording a");
            Assert.Equal((DashboardFixture.PlanoRecording, "_blank", "noopener noreferrer"), (await recording.GetAttributeAsync("href"),
                await recording.GetAttributeAsync("target"), await recording.GetAttributeAsync("rel")));

            // With one location chosen, its calls are credited to the marketing that led to them.
            Assert.True(await page.Locator("#attribution").IsVisibleAsync());
            Assert.Equal(["google"], await Column(page, "#attribution-table tbody tr", "key"));
            Assert.Equal("1", await page.TextContentAsync("#attribution-table tr[data-key='google'] td:nth-child(2)"));
            // Each choice loads anew: the campaign rows are the second load's (the first, by source, may finish between).
            loaded = await page.EvaluateAsync<string>("() => document.body.dataset.loaded");
            await page.SelectOptionAsync("#model", "linear");
            loaded = await LoadedAsync(page, loaded);
            var asked = page.WaitForRequestAsync(r =>
                r.Url.Contains("/locations/plano/report?") && r.Url.Contains("groupBy=campaign") && r.Url.Contains("model=linear"));
            await page.SelectOptionAsync("#group-by", "campaign");
            await asked;
            await LoadedAsync(page, loaded);
            Assert.Equal(["google/plano-search"], await Column(page, "#attribution-table tbody tr", "key"));
            Assert.Equal("google / plano-search", await page.TextContentAsync("#attribution-table tbody td"));
        }

        await using (var context = await Browser.NewContextAsync())
        {
            var page = await SignInAsync(context, Cluster.Token(Tenant, Roles.LocationManager, locations: ["austin-downtown"]));
            Assert.Equal(["austin-downtown"], await Column(page, "#report tbody tr", "location"));
            Assert.Equal(["austin"], await Column(page, "#markets tbody tr", "market"));
            Assert.Equal("1", await page.TextContentAsync("#markets tr[data-market='austin'] td:nth-child(2)"));   // its one location
            var locations = await Column(page, "#calls tbody tr", "location");
            Assert.NotEmpty(locations);
            Assert.All(locations, l => Assert.Equal("austin-downtown", l));
            Assert.Contains(AustinCall, await Column(page, "#calls tbody tr", "call"));
            Assert.DoesNotContain(PlanoCall, await Column(page, "#calls tbody tr", "call"));
            Assert.Equal(2, await page.Locator("#location option").CountAsync());   // "all my locations" and its one
            Assert.True(await page.Locator("#attribution").IsHiddenAsync());   // shown for one chosen location
            Assert.Contains("location-manager of austin-downtown", await page.TextContentAsync("#who"));
        }
    }

    [Fact]
    public async Task More_calls_pages_on_with_the_APIs_cursor_until_every_call_is_listed_once()
    {
        var admin = Cluster.Token(Tenant, Roles.BrandAdmin);
        var all = new List<string>();
        for (string? cursor = null; ;)
        {
            var path = $"/v1/tenants/{Tenant}/calls?limit=500{(cursor is null ? "" : "&cursor=" + cursor)}";
            using var response = await Cluster.SendAsync(HttpMethod.Get, path, admin);
            var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
            all.AddRange(answer.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()!));
            if (answer.GetProperty("nextCursor").GetString() is not { } next) break;
            cursor = next;
        }
        Assert.InRange(all.Count, 101, 200);   // two pages of the dashboard's 100

        await using var context = await Browser.NewContextAsync();
        await context.Clock.InstallAsync();
        var page = await SignInAsync(context, admin);
        Assert.Equal(all.Take(100), await Column(page, "#calls tbody tr", "call"));
        await page.ClickAsync("#more");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('#calls tbody tr').length === {all.Count}");
        Assert.Equal(all, await Column(page, "#calls tbody tr", "call"));
        Assert.True(await page.Locator("#more").IsHiddenAsync());

        // Having paged on, the user keeps what was read: the 30 s refresh leaves the list alone.
        var loaded = await page.EvaluateAsync<string>("() => document.body.dataset.loaded");
        await page.Clock.FastForwardAsync("00:31");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal((loaded, all.Count), (await page.EvaluateAsync<string>("() => document.body.dataset.loaded"),
            await page.Locator("#calls tbody tr").CountAsync()));
    }

    [Fact]
    public async Task A_new_call_shows_within_30_seconds_without_a_click()
    {
        await using var context = await Browser.NewContextAsync();
        await context.Clock.InstallAsync();
        var page = await SignInAsync(context, Cluster.Token(Tenant, Roles.BrandAdmin));
        var loaded = await page.EvaluateAsync<string>("() => document.body.dataset.loaded");
        var katyRow = page.Locator("#report tr[data-location='katy'] td:nth-child(3)");
        var katyCalls = int.Parse((await katyRow.TextContentAsync())!);

        var callSid = await fixture.RingKatyAsync();
        // The carrier's answer does not wait for the rollup's notice of the call: let it land first.
        await Rollups.UntilCallsAsync(Cluster, Cluster.Token(Tenant, Roles.BrandAdmin), Tenant, "katy", katyCalls + 1);
        await page.Clock.FastForwardAsync("00:31");
        await LoadedAsync(page, loaded);
        Assert.Equal(callSid, (await Column(page, "#calls tbody tr", "call"))[0]);
        Assert.Equal($"{katyCalls + 1}", await katyRow.TextContentAsync());
        Assert.Contains("refreshed every 30 s", await page.TextContentAsync("#updated"));
    }

    [Fact]
    public async Task A_location_manager_opens_a_call_sees_its_journey_and_records_an_outcome_with_notes_that_stay_text()
    {
        var callSid = await fixture.RingKatyAsync();
        var manager = Cluster.Token(Tenant, Roles.LocationManager, locations: ["katy"]);
        // The call's row is written behind the carrier's answer: wait until the list has it.
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            using var listed = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls?location=katy&limit=1", manager);
            var items = (await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items");
            if (items.GetArrayLength() == 1 && items[0].GetProperty("id").GetString() == callSid) break;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(15), "the call never reached the list");
        }
        await using var context = await Browser.NewContextAsync();
        var page = await SignInAsync(context, manager);
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add($"{m.Text} ({m.Location})"); };

        await page.ClickAsync($"#calls button[data-call='{callSid}']");
        var dialog = page.Locator("#call-detail");
        await dialog.WaitForAsync();
        Assert.StartsWith("Call to Bluebonnet Home Services – Katy", await page.TextContentAsync("#call-title"));
        // The visitor's journey and the marketing the call is credited to: the Katy page's campaign.
        Assert.Contains("katy-ac", await page.TextContentAsync("#call-journey"));
        Assert.Contains("katy-ac", await page.TextContentAsync("#call-facts"));
        Assert.True(await page.Locator("#call-recording").IsHiddenAsync());   // ringing: nothing recorded yet
        Assert.Equal($"#call={callSid}", new Uri(page.Url).Fragment);

        // The outcome, its value and a note; the note is a person's words, shown and kept as text.
        const string note = "<img src=x onerror=\"window.__pwned=2\"> call back Tuesday";
        await page.SelectOptionAsync("#outcome-form select[name=outcome]", "appointment");
        await page.FillAsync("#outcome-form input[name=value]", "150");
        await page.FillAsync("#outcome-form textarea[name=notes]", note);
        await page.ClickAsync("#outcome-form button[name=save]");
        await page.Locator("#outcome-saved", new() { HasText = "Saved." }).WaitForAsync();
        Assert.Equal("appointment", await page.TextContentAsync($"#calls tr[data-call='{callSid}'] td.outcome"));
        using (var stored = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls/{callSid}", manager))
        {
            var call = await stored.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(("appointment", 150m, note), (call.GetProperty("outcome").GetString(), call.GetProperty("value").GetDecimal(),
                call.GetProperty("notes").GetString()));
        }
        Assert.True(errors.Count == 0, string.Join(" | ", errors));
        // A note the API refuses shows its problem and changes nothing (the browser logs the 400 it was answered).
        await page.FillAsync("#outcome-form textarea[name=notes]", new string('x', 2001));
        await page.ClickAsync("#outcome-form button[name=save]");
        await page.Locator("#outcome-error").WaitForAsync();
        Assert.Contains("notes: must be at most 2000 characters.", await page.TextContentAsync("#outcome-error"));

        // The address opens the call again (a link sent to a colleague), with the note as text.
        await page.ReloadAsync();
        await dialog.WaitForAsync();
        Assert.Equal(note, await page.InputValueAsync("#outcome-form textarea[name=notes]"));
        Assert.Null(await page.EvaluateAsync<int?>("() => window.__pwned ?? null"));
        Assert.All(errors, e => Assert.Contains("status of 400", e));

        // An analyst reads the call but is offered no form.
        await using var analystContext = await Browser.NewContextAsync();
        var analyst = await SignInAsync(analystContext, Cluster.Token(Tenant, Roles.Analyst));
        await analyst.ClickAsync($"#calls button[data-call='{fixture.PlanoCall}']");
        await analyst.Locator("#call-detail").WaitForAsync();
        Assert.True(await analyst.Locator("#outcome-form").IsHiddenAsync());
        Assert.Equal(DashboardFixture.PlanoRecording, await analyst.GetAttributeAsync("#call-recording-link", "href"));
    }

    [Fact]
    public async Task A_missed_call_waits_on_the_call_back_list_until_the_location_marks_it_handled()
    {
        var missed = await fixture.RingKatyAsync();
        await new TwilioCarrier(Cluster).MissAsync(missed);
        var manager = Cluster.Token(Tenant, Roles.LocationManager, locations: ["katy"]);
        await using var context = await Browser.NewContextAsync();
        var page = await SignInAsync(context, manager);
        // The row is written behind the carrier's callbacks: a reload picks it up if the first load was early.
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); await page.Locator($"#follow-ups-table tr[data-call='{missed}']").CountAsync() == 0;)
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(15), "the missed call never reached the call-back list");
            var loaded = await page.EvaluateAsync<string>("() => document.body.dataset.loaded");
            await page.ClickAsync("#filters button[type=submit]");
            await LoadedAsync(page, loaded);
        }
        var row = page.Locator($"#follow-ups-table tr[data-call='{missed}']");
        Assert.Equal("open", await row.Locator("td.state").TextContentAsync());
        await row.GetByRole(AriaRole.Button, new() { Name = "Called back" }).ClickAsync();
        await row.Locator("td.state", new() { HasText = "called back" }).WaitForAsync();
        await row.GetByRole(AriaRole.Button, new() { Name = "Handled" }).ClickAsync();
        await row.WaitForAsync(new() { State = WaitForSelectorState.Detached });
        using (var stored = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls/{missed}", manager))
            Assert.Equal("handled", (await stored.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("followUp").GetString());

        // An analyst sees the list but has nothing to mark.
        var other = await fixture.RingKatyAsync();
        await new TwilioCarrier(Cluster).MissAsync(other);
        await using var analystContext = await Browser.NewContextAsync();
        var analyst = await SignInAsync(analystContext, Cluster.Token(Tenant, Roles.Analyst));
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); await analyst.Locator($"#follow-ups-table tr[data-call='{other}']").CountAsync() == 0;)
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(15), "the missed call never reached the analyst's list");
            var loaded = await analyst.EvaluateAsync<string>("() => document.body.dataset.loaded");
            await analyst.ClickAsync("#filters button[type=submit]");
            await LoadedAsync(analyst, loaded);
        }
        Assert.Equal(0, await analyst.Locator("#follow-ups-table button:not(.link)").CountAsync());
    }

    [Fact]
    public async Task Every_screen_passes_axe_and_fits_a_375_px_phone()
    {
        await using (var phone = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = 375, Height = 812 }, IsMobile = true, HasTouch = true }))
        {
            var page = await phone.NewPageAsync();
            await page.GotoAsync(new Uri(Cluster.Gateway, "/dashboard/").ToString());
            await page.Locator("#sign-in-form").WaitForAsync();
            await Accessibility.AssertNoSeriousViolationsAsync(page, "sign-in");
            await Accessibility.AssertFitsWidthAsync(page, "sign-in");
            await page.CloseAsync();

            // A location manager between customers: the overview, the call-back list, the calls, one call open.
            page = await SignInAsync(phone, Cluster.Token(Tenant, Roles.LocationManager, locations: ["plano"]));
            await Accessibility.AssertNoSeriousViolationsAsync(page, "dashboard (location manager, phone)");
            await Accessibility.AssertFitsWidthAsync(page, "dashboard (location manager, phone)");
            await page.ClickAsync($"#calls button[data-call='{fixture.PlanoCall}']");
            await page.Locator("#call-detail").WaitForAsync();
            await Accessibility.AssertNoSeriousViolationsAsync(page, "call detail (phone)");
            await Accessibility.AssertFitsWidthAsync(page, "call detail (phone)");
        }

        // A brand admin on a laptop, across every location.
        await using var laptop = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
        var admin = await SignInAsync(laptop, Cluster.Token(Tenant, Roles.BrandAdmin));
        await Accessibility.AssertNoSeriousViolationsAsync(admin, "dashboard (brand admin)");
        await Accessibility.AssertFitsWidthAsync(admin, "dashboard (brand admin)");

    }

    [Fact]
    public async Task The_address_keeps_the_view_and_each_table_exports_as_it_is_shown()
    {
        await using var context = await Browser.NewContextAsync();
        var page = await SignInAsync(context, Cluster.Token(Tenant, Roles.BrandAdmin));

        // Choosing a location and a credit model puts them in the address; opening that address shows the same view.
        var loaded = await page.EvaluateAsync<string>("() => document.body.dataset.loaded");
        await page.SelectOptionAsync("#location", "plano");
        loaded = await LoadedAsync(page, loaded);
        await page.SelectOptionAsync("#model", "linear");
        await LoadedAsync(page, loaded);
        var link = page.Url;
        Assert.Contains("location=plano", link);
        Assert.Contains("model=linear", link);
        // A colleague opens the link (a new tab: signed in anew, the token is kept per tab).
        var shared = await context.NewPageAsync();
        await shared.GotoAsync(link);
        await shared.FillAsync("#token", Cluster.Token(Tenant, Roles.BrandAdmin));
        await shared.ClickAsync("#sign-in-form button[type=submit]");
        await LoadedAsync(shared, previous: null);
        Assert.Equal("plano", await shared.InputValueAsync("#location"));
        Assert.Equal("linear", await shared.InputValueAsync("#model"));
        Assert.All(await Column(shared, "#calls tbody tr", "location"), l => Assert.Equal("plano", l));

        // The calls list's own filters narrow it, and go into the address too.
        loaded = await shared.EvaluateAsync<string>("() => document.body.dataset.loaded");
        await shared.FillAsync("#filter-source", "google");
        await shared.SelectOptionAsync("#filter-match", "live");
        await shared.ClickAsync("#call-filters button[type=submit]");
        await LoadedAsync(shared, loaded);
        Assert.Contains("source=google", shared.Url);
        Assert.Contains("match=live", shared.Url);
        Assert.Contains(fixture.PlanoCall, await Column(shared, "#calls tbody tr", "call"));
        Assert.All(await shared.Locator("#calls tbody td.match").AllTextContentsAsync(), m => Assert.Equal("live", m));
        loaded = await shared.EvaluateAsync<string>("() => document.body.dataset.loaded");
        await shared.FillAsync("#filter-source", "bing");
        await shared.ClickAsync("#call-filters button[type=submit]");
        await LoadedAsync(shared, loaded);
        Assert.Equal(0, await shared.Locator("#calls tbody tr").CountAsync());
        loaded = await shared.EvaluateAsync<string>("() => document.body.dataset.loaded");
        await shared.FillAsync("#filter-source", "google");
        await shared.ClickAsync("#call-filters button[type=submit]");
        await LoadedAsync(shared, loaded);

        // The calls table as a CSV file: its header, then its rows with visitors' text quoted as text.
        var download = await shared.RunAndWaitForDownloadAsync(() => shared.ClickAsync("button[data-export='calls']"));
        Assert.EndsWith(".csv", download.SuggestedFilename);
        var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        var lines = csv.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Time,Location,Caller,Tracking number,Source / medium", lines[0]);
        Assert.Equal(await shared.Locator("#calls tbody tr").CountAsync() + 1, lines.Length);
        Assert.Contains(lines, l => l.Contains("plano-search"));
    }

    [Fact]
    public async Task A_brand_admin_changes_a_locations_forwarding_and_hours_sees_the_APIs_problems_and_manages_API_keys()
    {
        var admin = Cluster.Token(Tenant, Roles.BrandAdmin);
        async Task<JsonElement> Schertz()
        {
            using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations/schertz", admin);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }
        var before = await Schertz();
        await using var context = await Browser.NewContextAsync();
        var page = await SignInAsync(context, admin);
        await page.Locator("#configure").WaitForAsync();
        Assert.True(await page.Locator("#configure-link").IsVisibleAsync());
        await page.SelectOptionAsync("#config-location", "schertz");
        await page.Locator("#location-form input[name=forwardTo]").WaitForAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('#location-form input[name=forwardTo]').value === '+17265550124'");

        // A number the API refuses: its problem is shown, the field marked, and nothing changes.
        await page.FillAsync("#location-form input[name=forwardTo]", "call the store");
        await page.ClickAsync("#location-form button[name=save]");
        await page.Locator("#location-problem").WaitForAsync();
        Assert.Contains("forwardTo", await page.TextContentAsync("#location-problem"));
        Assert.Equal("true", await page.GetAttributeAsync("#location-form input[name=forwardTo]", "aria-invalid"));
        Assert.Equal(before.GetProperty("forwardTo").GetString(), (await Schertz()).GetProperty("forwardTo").GetString());

        // A ring step with a number the API refuses is marked on that step's numbers.
        await page.FillAsync("#location-form input[name=forwardTo]", "+12105550177");
        await page.FillAsync("#location-form input[name=step-numbers-0]", "+12105550177");
        await page.FillAsync("#location-form input[name=step-numbers-1]", "+12105550178, the desk");
        await page.ClickAsync("#location-form button[name=save]");
        await page.Locator("#location-problem", new() { HasText = "ringSteps[1].numbers[1]" }).WaitForAsync();
        Assert.Equal("true", await page.GetAttributeAsync("#location-form input[name=step-numbers-1]", "aria-invalid"));

        // A new forward number, a two-step ring strategy with voicemail, and Saturday hours; Sunday stays closed; what the
        // form does not edit is kept.
        await page.FillAsync("#location-form input[name=step-numbers-1]", "+12105550178, +12105550179");
        await page.FillAsync("#location-form input[name=step-seconds-1]", "30");
        await page.CheckAsync("#location-form input[name=voicemail]");
        await page.FillAsync("#location-form input[name=open-sat]", "09:00");
        await page.FillAsync("#location-form input[name=close-sat]", "13:00");
        await page.ClickAsync("#location-form button[name=save]");
        await page.Locator("#location-saved", new() { HasText = "Saved." }).WaitForAsync();
        var after = await Schertz();
        Assert.Equal("+12105550177", after.GetProperty("forwardTo").GetString());
        var saturday = after.GetProperty("businessHours").EnumerateArray().Single(h => h.GetProperty("day").GetString() == "sat");
        Assert.Equal(("09:00", "13:00"), (saturday.GetProperty("open").GetString(), saturday.GetProperty("close").GetString()));
        Assert.DoesNotContain(after.GetProperty("businessHours").EnumerateArray(), h => h.GetProperty("day").GetString() == "sun");
        Assert.Equal(before.GetProperty("napPhone").GetString(), after.GetProperty("napPhone").GetString());
        Assert.True(after.GetProperty("voicemail").GetBoolean());
        var steps = after.GetProperty("ringSteps").EnumerateArray().ToList();
        Assert.Equal(2, steps.Count);
        Assert.Equal(["+12105550178", "+12105550179"], steps[1].GetProperty("numbers").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal((JsonValueKind.Null, 30), (steps[0].GetProperty("timeoutSeconds").ValueKind, steps[1].GetProperty("timeoutSeconds").GetInt32()));
        Assert.Equal(before.GetProperty("pagePatterns").GetRawText(), after.GetProperty("pagePatterns").GetRawText());

        // The snippet for the demo site: pinned with the script's SRI hash, which matches the file the gateway serves.
        await page.SelectOptionAsync("#site-form select[name=siteKey]", "bluebonnet-web");
        await page.ClickAsync("#site-form button[type=submit]");
        await page.Locator("#site-snippet").WaitForAsync();
        var pinned = await page.TextContentAsync("#snippet-pinned");
        var integrity = System.Text.RegularExpressions.Regex.Match(pinned!, "integrity=\"(sha384-[^\"]+)\"").Groups[1].Value;
        using (var script = await Cluster.Http.GetAsync("/dni/v1.js"))
            Assert.Equal("sha384-" + Convert.ToBase64String(System.Security.Cryptography.SHA384.HashData(await script.Content.ReadAsByteArrayAsync())), integrity);
        Assert.Contains("data-site-key=\"bluebonnet-web\"", pinned);
        Assert.Contains("/dni.js\" data-site-key=\"bluebonnet-web\"", await page.TextContentAsync("#snippet-latest"));
        Assert.Equal(["bluebonnet-web"], await page.EvalOnSelectorAllAsync<string[]>("#site-form select[name=siteKey] option", "os => os.map(o => o.value)"));

        // Missed-call alerts by email need the deployment's mail server: this one has none, and the form says so.
        await page.FillAsync("#alert-form input[name=name]", "Schertz manager");
        await page.FillAsync("#alert-form input[name=to]", "schertz@bluebonnet.example");
        await page.SelectOptionAsync("#alert-form select[name=location]", "schertz");
        await page.ClickAsync("#alert-form button[type=submit]");
        await page.Locator("#alert-problem", new() { HasText = "mail server" }).WaitForAsync();

        // An API key for an integration, shown once, then revoked.
        await page.FillAsync("#api-key-form input[name=name]", "Zapier");
        await page.CheckAsync("#api-key-form input[value='calls:read']");
        await page.ClickAsync("#api-key-form button[type=submit]");
        await page.Locator("#api-key-issued").WaitForAsync();
        Assert.StartsWith("cmk_", await page.TextContentAsync("#api-key-value"));
        var row = page.Locator("#api-keys tbody tr", new() { HasText = "Zapier" }).Last;
        Assert.Contains("active", await row.TextContentAsync());
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke Zapier" }).ClickAsync();
        await page.Locator("#api-keys tbody tr", new() { HasText = "Zapier" }).Last.Locator("td", new() { HasText = "revoked" }).WaitForAsync();
        await Accessibility.AssertNoSeriousViolationsAsync(page, "configure (brand admin)");

        // A location manager is offered none of it.
        await using var managerContext = await Browser.NewContextAsync();
        var manager = await SignInAsync(managerContext, Cluster.Token(Tenant, Roles.LocationManager, locations: ["katy"]));
        Assert.True(await manager.Locator("#configure").IsHiddenAsync());
        Assert.True(await manager.Locator("#configure-link").IsHiddenAsync());
    }

    [Fact]
    public async Task A_brand_admin_sees_pool_health_and_numbers_adds_a_static_number_sets_a_locations_rules_and_adds_and_pauses_a_webhook()
    {
        var admin = Cluster.Token(Tenant, Roles.BrandAdmin);
        async Task<JsonElement> Read(string path)
        {
            using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}{path}", admin);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }
        var fresh = DniSetup.NewNumbers(1)[0];
        (await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/numbers", admin, new[] { new { number = fresh, carrier = "twilio" } })).EnsureSuccessStatusCode();
        await using var context = await Browser.NewContextAsync();
        var page = await SignInAsync(context, admin);
        await page.Locator("#configure").WaitForAsync();

        // Pools as the API lists them, each with its health read; every tracking number with its use.
        var pools = (await Read("/pools")).GetProperty("items").EnumerateArray().ToList();
        Assert.NotEmpty(pools);
        await page.WaitForFunctionAsync("n => document.querySelectorAll('#pools tbody tr').length === n", pools.Count);
        Assert.Equal(pools.Select(p => p.GetProperty("id").GetString()), await Column(page, "#pools tbody tr", "pool"));
        Assert.All(await Column(page, "#pools tbody tr", "health"), h => Assert.Matches("^(ok|grow to [0-9]+)$", h));
        var firstPool = page.Locator("#pools tbody tr").First;
        Assert.Equal(pools[0].GetProperty("numbers").GetArrayLength().ToString(), await firstPool.Locator("td").Nth(2).TextContentAsync());
        var numbers = await Read("/numbers");
        var count = numbers.GetProperty("count").GetInt32();
        await page.WaitForFunctionAsync("n => document.querySelectorAll('#numbers tbody tr').length === n", count);
        Assert.StartsWith($"{count} in all", await page.TextContentAsync("#numbers-count"));
        Assert.Equal("unassigned", await page.Locator($"#numbers tbody tr[data-number='{fresh}'] td").Nth(1).TextContentAsync());

        // A static number for Plano's billboard: a bad number is the API's problem on that field, then a good one is listed.
        await page.SelectOptionAsync("#config-location", "plano");
        var form = page.Locator("#static-number-form");
        await form.Locator("input[name=key]").FillAsync("billboard-75");
        await form.Locator("select[name=medium]").SelectOptionAsync("billboard");
        await form.Locator("input[name=number]").FillAsync("call the store");
        await form.Locator("button[type=submit]").ClickAsync();
        await page.Locator("#static-number-problem").WaitForAsync();
        Assert.Equal("true", await form.Locator("input[name=number]").GetAttributeAsync("aria-invalid"));
        await form.Locator("input[name=number]").FillAsync(fresh);
        await form.Locator("input[name=label]").FillAsync("US-75 northbound");
        await form.Locator("button[type=submit]").ClickAsync();
        await page.Locator("#static-numbers tbody tr[data-key='billboard-75']").WaitForAsync();
        var statics = (await Read("/locations/plano/static-numbers")).GetProperty("items").EnumerateArray();
        Assert.Contains(statics, n => n.GetProperty("number").GetString() == fresh && n.GetProperty("medium").GetString() == "billboard"
                                      && n.GetProperty("label").GetString() == "US-75 northbound");

        // Plano's own conversion rules: the brand's apply until it has some; a bad outcome is named; then back to the brand's.
        var brandRules = (await Read("")).GetProperty("defaultConversionRules");
        await page.SelectOptionAsync("#rules-scope", "");
        await page.WaitForFunctionAsync("v => document.querySelector('#rules-form input[name=minDurationSeconds]').value === v",
            brandRules.TryGetProperty("minDurationSeconds", out var min) && min.ValueKind == JsonValueKind.Number ? min.GetInt32().ToString() : "");
        await page.SelectOptionAsync("#rules-scope", "plano");
        await page.WaitForFunctionAsync("() => !document.getElementById('rules-inherit').hidden");
        var rules = page.Locator("#rules-form");
        Assert.True(await rules.Locator("input[name=inherit]").IsCheckedAsync());
        await rules.Locator("input[name=inherit]").UncheckAsync();
        await rules.Locator("input[name=requireAnswered]").CheckAsync();
        await rules.Locator("input[name=minDurationSeconds]").FillAsync("45");
        await rules.Locator("input[name=outcomes]").FillAsync("sale, lunch");
        await rules.Locator("button[name=save]").ClickAsync();
        await page.Locator("#rules-problem").WaitForAsync();
        Assert.Equal("true", await rules.Locator("input[name=outcomes]").GetAttributeAsync("aria-invalid"));
        Assert.Equal(JsonValueKind.Null, (await Read("/locations/plano")).GetProperty("conversionRules").ValueKind);
        await rules.Locator("input[name=outcomes]").FillAsync("sale");
        await rules.Locator("button[name=save]").ClickAsync();
        await page.Locator("#rules-saved", new() { HasText = "Saved." }).WaitForAsync();
        var own = (await Read("/locations/plano")).GetProperty("conversionRules");
        Assert.Equal((true, 45, "sale"), (own.GetProperty("requireAnswered").GetBoolean(), own.GetProperty("minDurationSeconds").GetInt32(),
            own.GetProperty("outcomes")[0].GetString()));
        await rules.Locator("input[name=inherit]").CheckAsync();
        await rules.Locator("button[name=save]").ClickAsync();
        await page.Locator("#rules-saved", new() { HasText = "Saved." }).WaitForAsync();   // cleared by the click, set by the answer
        Assert.Equal(JsonValueKind.Null, (await Read("/locations/plano")).GetProperty("conversionRules").ValueKind);

        // A webhook destination: a refused address is named; the added one shows its secret once, then is paused.
        var destination = page.Locator("#destination-form");
        await destination.Locator("input[name=name]").FillAsync("CRM hook");
        await destination.Locator("input[name=url]").FillAsync("ftp://crm.example.com/hook");
        await destination.Locator("input[value='call.qualified']").CheckAsync();
        await destination.Locator("button[type=submit]").ClickAsync();
        await page.Locator("#destination-problem").WaitForAsync();
        Assert.Equal("true", await destination.Locator("input[name=url]").GetAttributeAsync("aria-invalid"));
        await destination.Locator("input[name=url]").FillAsync("https://crm.example.invalid/callmesh");
        await destination.Locator("button[type=submit]").ClickAsync();
        await page.Locator("#destination-added").WaitForAsync();
        Assert.StartsWith("whsec_", await page.TextContentAsync("#destination-secret"));
        var added = (await Read("/destinations")).GetProperty("items").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "CRM hook");
        var id = added.GetProperty("id").GetString()!;
        Assert.Equal(["call.qualified"], added.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        var row = page.Locator($"#destinations tbody tr[data-destination='{id}']");
        await row.GetByRole(AriaRole.Button, new() { Name = "Pause CRM hook" }).ClickAsync();
        await row.GetByRole(AriaRole.Button, new() { Name = "Resume CRM hook" }).WaitForAsync();
        Assert.Equal("paused", (await Read($"/destinations/{id}")).GetProperty("state").GetString());
        await Accessibility.AssertNoSeriousViolationsAsync(page, "configure numbers, rules and destinations (brand admin)");
        (await Cluster.SendAsync(HttpMethod.Delete, $"/v1/tenants/{Tenant}/destinations/{id}", admin)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Visitor_text_stays_text_refused_days_show_the_problem_and_a_bad_token_asks_to_sign_in_again()
    {
        await using var context = await Browser.NewContextAsync();
        var page = await SignInAsync(context, Cluster.Token(Tenant, Roles.BrandAdmin));
        Assert.Equal(HostileCampaign, await page.TextContentAsync($"#calls tr[data-call='{AustinCall}'] td.campaign"));
        Assert.Equal(0, await page.Locator("#calls img").CountAsync());
        Assert.Null(await page.EvaluateAsync<int?>("() => window.__pwned ?? null"));

        // Days the API refuses: its problem is shown, field by field, and the figures on the page stay.
        var rows = await page.Locator("#calls tbody tr").CountAsync();
        await page.FillAsync("#from", "2026-03-02");
        await page.FillAsync("#to", "2026-03-01");
        await page.ClickAsync("#filters button[type=submit]");
        await page.WaitForFunctionAsync("() => !document.getElementById('error').hidden");
        Assert.Contains("from: must not be after to.", await page.TextContentAsync("#error"));
        Assert.Equal(rows, await page.Locator("#calls tbody tr").CountAsync());

        // A token the gateway refuses (here: signed with another key) sends the user back to the sign-in form.
        await page.ClickAsync("#sign-out");
        await page.FillAsync("#token", UserTokens.Mint(Convert.ToHexString(new byte[32]), Tenant, Roles.BrandAdmin));
        await page.ClickAsync("#sign-in-form button[type=submit]");
        await page.WaitForFunctionAsync("() => !document.getElementById('sign-in').hidden && !document.getElementById('error').hidden");
        Assert.Contains("sign in again", await page.TextContentAsync("#error"));
        Assert.Equal(0, await page.Locator("#calls tbody tr").CountAsync());
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('callmesh.token')"));
    }

    [Fact]
    public async Task An_integrations_API_key_with_read_scopes_signs_in_with_its_tenant_named()
    {
        using var issued = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/api-keys", Cluster.Token(Tenant, Roles.BrandAdmin),
            new { name = "BI dashboard", scopes = new[] { "reports:read", "calls:read" } });
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var key = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;

        await using var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(Cluster.Gateway, "/dashboard/").ToString());
        await page.FillAsync("#token", key);
        await page.ClickAsync("#sign-in-form button[type=submit]");   // a key does not carry its tenant
        Assert.Contains("Name the tenant", await page.TextContentAsync("#error"));
        await page.FillAsync("#tenant", Tenant);
        await page.ClickAsync("#sign-in-form button[type=submit]");
        await LoadedAsync(page, previous: null);
        Assert.Equal($"API key · {Tenant}", await page.TextContentAsync("#who"));
        Assert.StartsWith("Total, 24 locations", await page.TextContentAsync("#report tfoot td"));
        Assert.Contains(PlanoCall, await Column(page, "#calls tbody tr", "call"));
    }

    [Fact]
    public async Task The_gateway_serves_the_dashboard_with_a_strict_content_policy_and_revalidation()
    {
        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Cluster.Gateway };
        using var bare = await noRedirects.GetAsync("/dashboard");   // the page's relative links need the slash
        Assert.Equal((HttpStatusCode.Redirect, "/dashboard/"), (bare.StatusCode, bare.Headers.Location?.ToString()));
        using var index = await Cluster.Http.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
        var csp = index.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Equal("no-cache", index.Headers.CacheControl?.ToString());

        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/dashboard.js");
        again.Headers.TryAddWithoutValidation("If-None-Match", (await Cluster.Http.GetAsync("/dashboard/dashboard.js")).Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.NotModified, (await Cluster.Http.SendAsync(again)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Cluster.Http.GetAsync("/dashboard/secrets.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Cluster.Http.GetAsync("/dashboard/..%2Fdni%2Fv1.js")).StatusCode);
    }
}
