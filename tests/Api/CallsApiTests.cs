using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallMesh.Carriers;
using CallMesh.Identity;
using CallMesh.Silo.Hosting;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>Carrier webhooks and the calls API through the real gateway, after a real DNI session, on the demo brand.</summary>
[Collection(ProcessTests.Name)]
public sealed class CallsApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>, IAsyncLifetime
{
    private const string Tenant = "bluebonnet";
    private const string AccountSid = TwilioCarrier.AccountSid;
    private const string AuthToken = TwilioCarrier.AuthToken;
    private ProcessCluster Cluster => fixture.Cluster;
    private TwilioCarrier Carrier => new(fixture.Cluster);
    private string Admin => Cluster.Token(Tenant, Roles.BrandAdmin);

    public async Task InitializeAsync()
    {
        using var saved = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/carriers/{AccountSid}", Admin, new { carrier = "twilio", authToken = AuthToken });
        Assert.True(saved.IsSuccessStatusCode);
        Assert.DoesNotContain(AuthToken, await saved.Content.ReadAsStringAsync());
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static string NewCallSid() => TwilioCarrier.NewCallSid();

    private Task<HttpResponseMessage> Webhook(string path, Dictionary<string, string> form, string token = AuthToken) => Carrier.Webhook(path, form, token);

    private static Dictionary<string, string> InboundForm(string callSid, string to, string from = "+14155550142") => TwilioCarrier.InboundForm(callSid, to, from);

    private Task<long> CallRows() => fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls");

    /// <summary>
    /// Calls are written behind the answer: a valid call placed now and seen stored means every delivery journaled
    /// before it has been written too (or never will be). Returns the calls stored then, less the sentinel.
    /// </summary>
    private async Task<long> CallRowsOnceSettled()
    {
        var sentinel = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(sentinel, "+15125550180"))).EnsureSuccessStatusCode();
        for (var i = 0; i < 100 && await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls WHERE call_id = $1", sentinel) == 0; i++)
            await Task.Delay(100);
        await Task.Delay(500);   // the other silo's journal too
        return await CallRows() - 1;
    }

    private async Task<JsonElement> GetCall(string callSid, string token, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls/{callSid}", token);
        Assert.Equal(expected, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task A_carrier_account_claimed_first_by_another_tenant_goes_to_the_tenant_whose_token_the_carrier_signs_with()
    {
        const string victimSid = "AC00000000000000000000000000000b0b";
        const string realToken = "the-real-token-only-bluebonnet-has";
        // The silos route from their copy of the numbers, which follows the demo's import by a second or so.
        for (var i = 0; i < 40; i++)
        {
            using var warm = await Webhook("/v1/voice/twilio/inbound", InboundForm(NewCallSid(), "+15125550180"));
            if ((await warm.Content.ReadAsStringAsync()).Contains("<Dial")) break;
            await Task.Delay(250);
        }
        var platform = Cluster.Token(null, Roles.PlatformAdmin);
        (await Cluster.SendAsync(HttpMethod.Put, "/v1/tenants/squatter", platform,
            new { name = "Squatter", timeZone = "America/Chicago", currency = "USD" })).EnsureSuccessStatusCode();
        var squatter = Cluster.Token("squatter", Roles.BrandAdmin);

        // The squatter registers Bluebonnet's account first, with a token of its own making: unverified.
        using (var first = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/squatter/carriers/{victimSid}", squatter,
                   new { carrier = "twilio", authToken = "a-token-the-squatter-made-up" }))
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        // Bluebonnet is not locked out: its claim waits for the carrier to decide.
        using (var claim = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/carriers/{victimSid}", Admin,
                   new { carrier = "twilio", authToken = realToken }))
        {
            Assert.Equal(HttpStatusCode.Accepted, claim.StatusCode);
            Assert.Equal("pending", (await claim.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        }

        // The carrier's webhook, signed with the real token, is answered for Bluebonnet and proves its claim.
        var callSid = NewCallSid();
        var form = InboundForm(callSid, "+15125550180");
        form["AccountSid"] = victimSid;
        using (var inbound = await Webhook("/v1/voice/twilio/inbound", form, realToken))
        {
            var twiml = await inbound.Content.ReadAsStringAsync();
            Assert.True(inbound.StatusCode == HttpStatusCode.OK, $"{(int)inbound.StatusCode} {twiml}\n" + string.Join("\n",
                Cluster.SiloLogs().Split('\n').Where(l => l.Contains("Exception") || l.StartsWith("fail")).TakeLast(12)));
            Assert.True(twiml.Contains("<Dial"), twiml);
        }
        async Task<string?> StateOf(string tenant, string token)
        {
            var listed = await (await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/carriers", token)).Content.ReadFromJsonAsync<JsonElement>();
            return listed.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("accountSid").GetString() == victimSid)
                .Select(i => i.GetProperty("state").GetString()).SingleOrDefault();
        }
        Assert.Equal("verified", await StateOf(Tenant, Admin));
        Assert.Null(await StateOf("squatter", squatter));

        // Proven, the account is Bluebonnet's for good: the squatter's token signs nothing (once every silo's copy has the
        // change: CarrierAccounts.Freshness) and its claim is refused.
        var refused = false;
        for (var i = 0; i < 60 && !refused; i++)
        {
            form["CallSid"] = NewCallSid();
            using var forged = await Webhook("/v1/voice/twilio/inbound", form, "a-token-the-squatter-made-up");
            refused = forged.StatusCode == HttpStatusCode.Forbidden;
            if (!refused) await Task.Delay(250);
        }
        Assert.True(refused, "the squatter's token still signs webhooks 15 s after the account was proven another's");
        using (var again = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/squatter/carriers/{victimSid}", squatter,
                   new { carrier = "twilio", authToken = "a-token-the-squatter-made-up" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            Assert.Contains("account-taken", await again.Content.ReadAsStringAsync());
        }
        // The token a tenant gave is checked by the carrier's own signature, so the holder's first call verifies its account.
        form["CallSid"] = NewCallSid();
        using (var next = await Webhook("/v1/voice/twilio/inbound", form, realToken))
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    /// <summary>A visitor from <paramref name="clientIp"/> on Katy's page with <paramref name="query"/>: the DNI answer.</summary>
    private async Task<JsonElement> VisitKatyAsync(string query, string clientIp)
    {
        using var session = await Cluster.DniSessionAsync($"http://127.0.0.1:9999/locations/katy?{query}", ["+17135550116"], clientIp: clientIp);
        Assert.Equal(HttpStatusCode.OK, session.StatusCode);
        return await session.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task A_text_to_a_visitors_tracking_number_is_a_lead_of_kind_text_forwarded_to_the_location_and_counted_apart()
    {
        using (var patched = await Cluster.SendAsync(HttpMethod.Patch, $"/v1/tenants/{Tenant}/locations/katy", Admin, new { textForwardTo = "+18325550998" }))
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var assignment = await VisitKatyAsync("utm_source=google&utm_medium=cpc&utm_campaign=katy-text", "198.51.100.9");
        var tracking = assignment.GetProperty("swaps")[0].GetProperty("number").GetString()!;
        var messageSid = "SM" + NewCallSid()[2..];
        var text = new Dictionary<string, string>
        {
            ["AccountSid"] = AccountSid, ["MessageSid"] = messageSid, ["From"] = "+14155550143", ["To"] = tracking, ["Body"] = "Do you fix <ac> units?",
            ["NumMedia"] = "0",
        };
        using (var forged = await Webhook("/v1/voice/twilio/sms", text, token: "not-the-token"))
            await ProblemAssert.Is(forged, HttpStatusCode.Forbidden, "invalid-signature");
        // Each silo routes from its copy of Katy's settings, reloaded moments after the change: the carrier's retries of the
        // same message are answered anew (and make one lead) until the answer forwards it.
        const string forwarded = """<?xml version="1.0" encoding="utf-8"?><Response><Message to="+18325550998">Text from +14155550143: Do you fix &lt;ac&gt; units?</Message></Response>""";
        string answer;
        for (var deadline = DateTime.UtcNow.AddSeconds(5); ; await Task.Delay(50))
        {
            using var sms = await Webhook("/v1/voice/twilio/sms", text);
            Assert.Equal(HttpStatusCode.OK, sms.StatusCode);
            answer = await sms.Content.ReadAsStringAsync();
            if (answer == forwarded || DateTime.UtcNow > deadline) break;
        }
        Assert.Equal(forwarded, answer);

        var lead = await Carrier.RecordedAsync(messageSid);
        Assert.Equal(("text", "katy", "google", "katy-text", false, JsonValueKind.Null), (lead.GetProperty("kind").GetString(), lead.GetProperty("location").GetString(),
            lead.GetProperty("source").GetString(), lead.GetProperty("campaign").GetString(), lead.GetProperty("answered").GetBoolean(),
            lead.GetProperty("followUp").ValueKind));
        Assert.Equal(assignment.GetProperty("sessionId").GetString(), lead.GetProperty("sessionId").GetString());
        await GetCall(messageSid, Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"]), HttpStatusCode.NotFound);
        Assert.Equal(1, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls WHERE call_id = $1", messageSid));

        // Reports count texts apart from calls, as the calls table does.
        using var report = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/locations", Admin);
        var katy = (await report.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
            .Single(i => i.GetProperty("location").GetString() == "katy").GetProperty("measures");
        var (texts, calls) = (await fixture.Database.Scalar<long>(
                "SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1 AND location_id = 'katy' AND kind = 'text' AND NOT is_test", Tenant),
            await fixture.Database.Scalar<long>(
                "SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1 AND location_id = 'katy' AND kind = 'call' AND NOT is_test AND route <> 'blocked'", Tenant));
        Assert.Equal((texts, calls), ((long)katy.GetProperty("texts").GetDecimal(), (long)katy.GetProperty("calls").GetDecimal()));
        Assert.True(texts >= 1);
    }

    [Fact]
    public async Task A_call_to_a_visitors_tracking_number_is_attributed_to_its_session_routed_and_completed_by_callbacks()
    {
        // A visitor lands on Katy's page from a Google ad.
        var assignment = await VisitKatyAsync("utm_source=google&utm_medium=cpc&utm_campaign=katy-ac&utm_term=ac+repair&gclid=GC-9", "198.51.100.7");
        var tracking = assignment.GetProperty("swaps")[0].GetProperty("number").GetString()!;

        // The visitor calls it.
        var callSid = NewCallSid();
        using var inbound = await Webhook("/v1/voice/twilio/inbound", InboundForm(callSid, tracking));
        Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
        Assert.Equal("text/xml", inbound.Content.Headers.ContentType?.MediaType);
        var twiml = System.Xml.Linq.XDocument.Parse(await inbound.Content.ReadAsStringAsync());
        var dial = twiml.Root!.Element("Dial")!;
        var gateway = Cluster.Gateway.ToString().TrimEnd('/');
        Assert.Equal(("+14155550142", "true"), (dial.Attribute("callerId")!.Value, dial.Attribute("answerOnBridge")!.Value));
        var number = dial.Element("Number")!;
        Assert.Contains(number.Value, new[] { "+18325550116", "+17135550199" });   // Katy's forward or after-hours number
        var route = number.Value == "+18325550116" ? "open" : "after-hours";
        Assert.Equal($"{gateway}/v1/voice/twilio/dial-action?step=1&route={route}", dial.Attribute("action")!.Value);
        Assert.Equal($"{gateway}/v1/voice/twilio/status?step=1", number.Attribute("statusCallback")!.Value);

        var call = await Carrier.RecordedAsync(callSid);
        Assert.Equal(("katy", "pool", "google", "cpc", "katy-ac", "ac repair", "GC-9"), (call.GetProperty("location").GetString(), call.GetProperty("numberKind").GetString(),
            call.GetProperty("source").GetString(), call.GetProperty("medium").GetString(), call.GetProperty("campaign").GetString(),
            call.GetProperty("keyword").GetString(), call.GetProperty("gclid").GetString()));
        Assert.Equal(assignment.GetProperty("sessionId").GetString(), call.GetProperty("sessionId").GetString());
        Assert.Equal(number.Value, call.GetProperty("routedTo").GetString());
        Assert.Equal(route, call.GetProperty("route").GetString());

        // The forwarded leg is answered and talks 95 s; the caller's leg ends; deliveries repeat.
        var dialed = new Dictionary<string, string> { ["AccountSid"] = AccountSid, ["CallSid"] = "CB" + callSid[2..], ["ParentCallSid"] = callSid, ["CallStatus"] = "completed", ["CallDuration"] = "95", ["SequenceNumber"] = "3" };
        var parent = new Dictionary<string, string> { ["AccountSid"] = AccountSid, ["CallSid"] = callSid, ["CallStatus"] = "completed", ["CallDuration"] = "110", ["SequenceNumber"] = "0" };
        var action = new Dictionary<string, string> { ["AccountSid"] = AccountSid, ["CallSid"] = callSid, ["DialCallStatus"] = "completed", ["DialCallDuration"] = "95", ["DialBridged"] = "true" };
        foreach (var (path, form) in new[] { ("/v1/voice/twilio/status", dialed), ("/v1/voice/twilio/dial-action", action), ("/v1/voice/twilio/status", parent), ("/v1/voice/twilio/status", dialed) })
        {
            using var delivered = await Webhook(path, form);
            Assert.True(delivered.IsSuccessStatusCode, $"{path}: {delivered.StatusCode}");
        }
        // Callbacks are journaled and answered at once, then applied behind the answer: within moments.
        call = await Carrier.RecordedAsync(callSid, until: c => c.GetProperty("durationSeconds").GetInt32() == 110);
        Assert.Equal(("completed", true, 95, 110), (call.GetProperty("status").GetString(), call.GetProperty("answered").GetBoolean(),
            call.GetProperty("talkSeconds").GetInt32(), call.GetProperty("durationSeconds").GetInt32()));
        Assert.True(call.GetProperty("qualified").GetBoolean());   // the demo brand: answered and at least 60 s

        // Scope: Katy's manager sees it; Austin's does not; an analyst sees it without the caller's number.
        await GetCall(callSid, Cluster.Token(Tenant, Roles.LocationManager, ["katy"]));
        await GetCall(callSid, Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"]), HttpStatusCode.NotFound);
        using var austinList = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls?location=katy", Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"]));
        Assert.Equal(0, (await austinList.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32());
        Assert.Equal("+1415*****42", (await GetCall(callSid, Cluster.Token(Tenant, Roles.Analyst))).GetProperty("caller").GetString());

        // The CRM reports the sale; the same update again changes nothing.
        var outcome = new { outcome = "sale", value = 480.00m, currency = "USD", externalId = "hubspot-77" };
        using (var sold = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{callSid}/outcome", Admin, outcome))
            Assert.Equal(480.00m, (await sold.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("value").GetDecimal());
        using (var again = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{callSid}/outcome", Admin, outcome with { }))
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        using (var badOutcome = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{callSid}/outcome", Admin, new { outcome = "won", currency = "EUR" }))
            await ProblemAssert.Is(badOutcome, HttpStatusCode.BadRequest, "validation");
        Assert.Equal("sale", (await GetCall(callSid, Admin)).GetProperty("outcome").GetString());

        // Katy's manager works Katy's calls: an outcome, its value and a note, audited under their name. Austin's manager
        // cannot find the call; an analyst only reads; a note past 2,000 characters is refused and changes nothing.
        var katyManager = Cluster.Token(Tenant, Roles.LocationManager, ["katy"]);
        var followUp = new { outcome = "appointment", value = 120.00m, notes = "Called back: booked for Tuesday <b>9am</b>" };
        using (var byManager = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{callSid}/outcome", katyManager, followUp))
        {
            var updated = await byManager.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(("appointment", 120.00m, followUp.notes), (updated.GetProperty("outcome").GetString(), updated.GetProperty("value").GetDecimal(),
                updated.GetProperty("notes").GetString()));
        }
        using (var elsewhere = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{callSid}/outcome",
                   Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"]), followUp))
            await ProblemAssert.Is(elsewhere, HttpStatusCode.NotFound, "not-found");
        using (var byAnalyst = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{callSid}/outcome", Cluster.Token(Tenant, Roles.Analyst), followUp))
            await ProblemAssert.Is(byAnalyst, HttpStatusCode.Forbidden, "forbidden");
        using (var tooLong = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{callSid}/outcome", katyManager,
                   new { outcome = "sale", notes = new string('x', 2001) }))
            await ProblemAssert.Is(tooLong, HttpStatusCode.BadRequest, "validation", "notes");
        var kept = await GetCall(callSid, katyManager);
        Assert.Equal(("appointment", followUp.notes), (kept.GetProperty("outcome").GetString(), kept.GetProperty("notes").GetString()));
        using var audit = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/audit?limit=20", Admin);
        Assert.Contains((await audit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray(), e =>
            e.GetProperty("entity").GetString() == "outcome" && e.GetProperty("entityId").GetString() == callSid
            && e.GetProperty("actor").GetString() == "test-location-manager");
    }

    [Fact]
    public async Task The_calls_list_filters_by_source_outcome_and_first_time_caller()
    {
        // A first-time caller from a DuckDuckGo visit (a source no other test uses), and the same caller again, with a sale.
        var caller = $"+1415555{Random.Shared.Next(1000, 9999)}";
        var tracking = (await VisitKatyAsync("utm_source=duckduckgo&utm_medium=cpc&utm_campaign=filters", "198.51.100.9"))
            .GetProperty("swaps")[0].GetProperty("number").GetString()!;
        var first = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(first, tracking, caller))).EnsureSuccessStatusCode();
        await Carrier.RecordedAsync(first);
        var again = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(again, tracking, caller))).EnsureSuccessStatusCode();
        await Carrier.RecordedAsync(again);
        using (var sold = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{again}/outcome", Admin, new { outcome = "sale", value = 90m }))
            Assert.Equal(HttpStatusCode.OK, sold.StatusCode);

        async Task<List<JsonElement>> Listed(string query)
        {
            for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(100))
            {
                using var listed = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls?limit=500&{query}", Admin);
                Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
                var items = (await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray().ToList();
                // Rows are written behind the carrier's answer and the outcome: wait until the sale is there.
                if (items.Any(c => c.GetProperty("id").GetString() == again && c.GetProperty("outcome").GetString() == "sale")
                    || !query.Contains("duckduckgo") || wait.Elapsed > TimeSpan.FromSeconds(10)) return items;
            }
        }
        var ids = (List<JsonElement> items) => items.Select(c => c.GetProperty("id").GetString()).ToList();
        var bySource = await Listed("source=duckduckgo");
        Assert.Equal([again, first], ids(bySource));
        Assert.Equal([first], ids(await Listed("source=duckduckgo&outcome=none")));
        Assert.Equal([again], ids(await Listed("source=duckduckgo&outcome=sale")));
        Assert.Equal([first], ids(await Listed("source=duckduckgo&firstTime=true")));
        Assert.Equal([again], ids(await Listed("source=duckduckgo&firstTime=false")));
        Assert.All(await Listed("outcome=sale"), c => Assert.Equal("sale", c.GetProperty("outcome").GetString()));
        using (var bad = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls?outcome=won", Admin))
            await ProblemAssert.Is(bad, HttpStatusCode.BadRequest, "validation", "outcome");
    }

    [Fact]
    public async Task Missed_calls_wait_on_their_locations_call_back_list_oldest_first_until_marked_handled()
    {
        async Task<List<string>> FollowUps(string token, string query = "")
        {
            using var listed = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls/follow-ups?limit=500{query}", token);
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
            return [.. (await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()!)];
        }
        // Two missed calls to Houston Heights' GBP number, one to Austin's; an answered one is nobody's to call back.
        var first = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(first, "+12815550180"))).EnsureSuccessStatusCode();
        Assert.False((await Carrier.MissAsync(first)).GetProperty("answered").GetBoolean());   // and open, as MissAsync waits for
        var second = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(second, "+12815550180"))).EnsureSuccessStatusCode();
        await Carrier.MissAsync(second);
        var austin = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(austin, "+15125550180"))).EnsureSuccessStatusCode();
        await Carrier.MissAsync(austin);
        var answered = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(answered, "+12815550180"))).EnsureSuccessStatusCode();
        await Carrier.CompleteAsync(answered, 70);

        Assert.Equal("houston-heights", (await GetCall(first, Admin)).GetProperty("location").GetString());
        var heightsManager = Cluster.Token(Tenant, Roles.LocationManager, ["houston-heights"]);
        // Rows are written behind the carrier's answer: wait until the list has the last missed call.
        var heightsList = await FollowUps(heightsManager);
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); !heightsList.Contains(second); heightsList = await FollowUps(heightsManager))
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(10), $"the call-back list never showed {second}: {string.Join(", ", heightsList)}");
        Assert.True(heightsList.IndexOf(first) >= 0 && heightsList.IndexOf(first) < heightsList.IndexOf(second), $"oldest first: {string.Join(", ", heightsList)}");
        Assert.DoesNotContain(austin, heightsList);
        Assert.DoesNotContain(answered, heightsList);
        Assert.Contains(austin, await FollowUps(Admin, "&location=austin-downtown"));
        Assert.Null((await GetCall(answered, Admin)).GetProperty("followUp").GetString());

        // Called back: still on the list; handled: off it. Austin's manager cannot touch a Heights call; an analyst only reads.
        async Task<HttpResponseMessage> Patch(string callSid, string token, object body) =>
            await Cluster.SendAsync(HttpMethod.Patch, $"/v1/tenants/{Tenant}/calls/{callSid}", token, body);
        using (var calledBack = await Patch(first, heightsManager, new { followUp = "calledBack" }))
            Assert.Equal("calledBack", (await calledBack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("followUp").GetString());
        Assert.Contains(first, await FollowUps(heightsManager));
        using (var handled = await Patch(first, heightsManager, new { followUp = "handled" }))
            Assert.Equal(HttpStatusCode.OK, handled.StatusCode);
        Assert.DoesNotContain(first, await FollowUps(heightsManager));
        Assert.Contains(second, await FollowUps(heightsManager));
        using (var elsewhere = await Patch(second, Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"]), new { followUp = "handled" }))
            await ProblemAssert.Is(elsewhere, HttpStatusCode.NotFound, "not-found");
        using (var byAnalyst = await Patch(second, Cluster.Token(Tenant, Roles.Analyst), new { followUp = "handled" }))
            await ProblemAssert.Is(byAnalyst, HttpStatusCode.Forbidden, "forbidden");
        using (var bad = await Patch(second, heightsManager, new { followUp = "done" }))
            await ProblemAssert.Is(bad, HttpStatusCode.BadRequest, "validation", "followUp");
        Assert.Equal("open", (await GetCall(second, Admin)).GetProperty("followUp").GetString());
        using var audit = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/audit?limit=20", Admin);
        Assert.Contains((await audit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray(), e =>
            e.GetProperty("entity").GetString() == "follow-up" && e.GetProperty("entityId").GetString() == first);
    }

    [Fact]
    public async Task Calls_say_how_they_were_matched_and_filter_by_it_and_pool_health_shows_the_late_call_rules()
    {
        var tracking = (await VisitKatyAsync("utm_source=bing&utm_medium=cpc&utm_campaign=match", "198.51.100.8"))
            .GetProperty("swaps")[0].GetProperty("number").GetString()!;
        var callSid = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(callSid, tracking))).EnsureSuccessStatusCode();

        var call = await Carrier.RecordedAsync(callSid);
        Assert.Equal(("live", JsonValueKind.Null), (call.GetProperty("match").GetString(), call.GetProperty("secondsSinceRelease").ValueKind));
        async Task<List<string>> Listed(string match)
        {
            using var listed = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls?location=katy&match={match}&limit=500", Admin);
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
            return [.. (await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
                .Select(c => Assert.IsType<string>(c.GetProperty("match").GetString()) == match ? c.GetProperty("id").GetString()! : "wrong match")];
        }
        Assert.Contains(callSid, await Listed("live"));
        Assert.DoesNotContain(callSid, await Listed("ambiguous"));
        using (var bad = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls?match=maybe", Admin))
            Assert.Contains("match", (await ProblemAssert.Is(bad, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").EnumerateObject().Select(e => e.Name));

        // The pool's late-call rules: a bad rest is refused and changes nothing; health shows the rules in force and the risk.
        using var pool = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/pools/katy-web", Admin);
        var config = await pool.Content.ReadFromJsonAsync<JsonElement>();
        using (var badRest = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/pools/katy-web", Admin, new
        {
            location = "katy", numbers = config.GetProperty("numbers").EnumerateArray().Select(n => n.GetString()).ToList(),
            restSeconds = -1, lateCallWindowSeconds = 99_999_999,
        }))
        {
            var problem = await ProblemAssert.Is(badRest, HttpStatusCode.BadRequest, "validation");
            Assert.Equal(["lateCallWindowSeconds", "restSeconds"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order());
        }
        using var after = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/pools/katy-web", Admin);
        Assert.Equal(config.GetRawText(), (await after.Content.ReadFromJsonAsync<JsonElement>()).GetRawText());
        // The pool counts the call once it is recorded (a one-way message behind the answer).
        JsonElement health = default;
        for (var i = 0; i < 50; i++, await Task.Delay(100))
        {
            using var healthResponse = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/pools/katy-web/health", Cluster.Token(Tenant, Roles.LocationManager, ["katy"]));
            health = await healthResponse.Content.ReadFromJsonAsync<JsonElement>();
            if (health.GetProperty("precisionRisk").GetProperty("callsByMatch").TryGetProperty("live", out _)) break;
        }
        Assert.Equal(("default", 1800, 86_400), (health.GetProperty("lateCalls").GetProperty("restFrom").GetString(),
            health.GetProperty("lateCalls").GetProperty("restSeconds").GetInt32(), health.GetProperty("lateCalls").GetProperty("lateCallWindowSeconds").GetInt32()));
        Assert.True(health.GetProperty("peakDemand").GetInt32() >= 1);
        Assert.Contains("rest", health.GetProperty("recommendationRule").GetString());
        Assert.True(health.GetProperty("precisionRisk").GetProperty("callsByMatch").GetProperty("live").GetInt64() >= 1);
    }

    [Fact]
    public async Task A_call_to_a_static_number_is_credited_to_its_medium()
    {
        var callSid = NewCallSid();
        using var inbound = await Webhook("/v1/voice/twilio/inbound", InboundForm(callSid, "+15125550180"));   // Austin's GBP number
        Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);

        var call = await Carrier.RecordedAsync(callSid);
        Assert.Equal(("austin-downtown", "static", "gbp", "google", "gbp-listing"), (call.GetProperty("location").GetString(),
            call.GetProperty("numberKind").GetString(), call.GetProperty("medium").GetString(), call.GetProperty("source").GetString(),
            call.GetProperty("campaign").GetString()));
    }

    [Fact]
    public async Task A_blocked_caller_is_rejected_until_unblocked_and_only_brand_admins_see_or_change_the_blocklist()
    {
        const string robocaller = "+14155550999";
        var path = $"/v1/tenants/{Tenant}/blocked-callers";
        async Task<string> Answer()
        {
            using var inbound = await Webhook("/v1/voice/twilio/inbound", InboundForm(NewCallSid(), "+15125550180", from: robocaller));
            inbound.EnsureSuccessStatusCode();
            return await inbound.Content.ReadAsStringAsync();
        }
        async Task<List<(string Number, string? Reason)>> Blocklist()
        {
            using var list = await Cluster.SendAsync(HttpMethod.Get, path, Admin);
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            return [.. (await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
                .Select(i => (i.GetProperty("number").GetString()!, i.GetProperty("reason").GetString()))];
        }

        // Every silo routes from its copy of the blocklist, which PostgreSQL tells it to reload when the list changes.
        async Task<string> AnswerWithin(string expected)
        {
            var deadline = DateTime.UtcNow.AddSeconds(5);
            string answer;
            while (!(answer = await Answer()).Contains(expected) && DateTime.UtcNow < deadline) await Task.Delay(50);
            return answer;
        }

        Assert.Contains("<Dial", await Answer());
        var manager = Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"]);
        using (var refused = await Cluster.SendAsync(HttpMethod.Put, $"{path}/{Uri.EscapeDataString(robocaller)}", manager, new { reason = "spam" }))
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        using (var hidden = await Cluster.SendAsync(HttpMethod.Get, path, manager))
            Assert.Equal(HttpStatusCode.Forbidden, hidden.StatusCode);
        using (var bad = await Cluster.SendAsync(HttpMethod.Put, $"{path}/not-a-number", Admin, new { reason = "spam" }))
            await ProblemAssert.Is(bad, HttpStatusCode.BadRequest, "validation", "number");
        Assert.DoesNotContain(robocaller, (await Blocklist()).Select(b => b.Number));

        using (var blocked = await Cluster.SendAsync(HttpMethod.Put, $"{path}/{Uri.EscapeDataString(robocaller)}", Admin, new { reason = "robocalls" }))
            Assert.Equal(HttpStatusCode.NoContent, blocked.StatusCode);
        Assert.Contains((robocaller, "robocalls"), await Blocklist());
        Assert.Contains("<Reject", await AnswerWithin("<Reject"));

        using (var unblocked = await Cluster.SendAsync(HttpMethod.Delete, $"{path}/{Uri.EscapeDataString(robocaller)}", Admin))
            Assert.Equal(HttpStatusCode.NoContent, unblocked.StatusCode);
        Assert.DoesNotContain(robocaller, (await Blocklist()).Select(b => b.Number));
        Assert.Contains("<Dial", await AnswerWithin("<Dial"));
    }

    [Fact]
    public async Task Wrong_or_missing_signatures_are_403_and_bad_forms_400_and_nothing_is_stored()
    {
        var before = await CallRowsOnceSettled();
        var form = InboundForm(NewCallSid(), "+15125550180");

        using var wrongToken = await Webhook("/v1/voice/twilio/inbound", form, token: "not-the-accounts-token-000");
        await ProblemAssert.Is(wrongToken, HttpStatusCode.Forbidden, "invalid-signature");
        using var unsigned = await Cluster.SendAsync(HttpMethod.Post, "/v1/voice/twilio/inbound", null, new FormUrlEncodedContent(form));
        await ProblemAssert.Is(unsigned, HttpStatusCode.Forbidden, "invalid-signature");
        using var unknownAccount = await Webhook("/v1/voice/twilio/inbound", new Dictionary<string, string>(form) { ["AccountSid"] = "AC" + new string('9', 32) });
        await ProblemAssert.Is(unknownAccount, HttpStatusCode.Forbidden, "invalid-signature");
        // Signed over other parameters than the ones sent: a tampered To.
        var signature = TwilioSignature.Compute(AuthToken, Cluster.Gateway.ToString().TrimEnd('/') + "/v1/voice/twilio/inbound", form);
        using var tampered = await Cluster.SendAsync(HttpMethod.Post, "/v1/voice/twilio/inbound", null,
            new FormUrlEncodedContent(new Dictionary<string, string>(form) { ["To"] = "+15125550112" }), r => r.Headers.Add("X-Twilio-Signature", signature));
        await ProblemAssert.Is(tampered, HttpStatusCode.Forbidden, "invalid-signature");

        var noTo = new Dictionary<string, string>(form);
        noTo.Remove("To");
        using var missing = await Webhook("/v1/voice/twilio/inbound", noTo);
        Assert.True((await ProblemAssert.Is(missing, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("To", out _));
        using var badSid = await Webhook("/v1/voice/twilio/inbound", new Dictionary<string, string>(form) { ["CallSid"] = "'; DROP TABLE calls" });
        await ProblemAssert.Is(badSid, HttpStatusCode.BadRequest, "validation");
        using var json = await Cluster.SendAsync(HttpMethod.Post, "/v1/voice/twilio/inbound", null, form);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        // A signed result for a call no one started is journaled and answered (its start may still be on its way), never a row.
        using var unknownCall = await Webhook("/v1/voice/twilio/dial-action", new Dictionary<string, string> { ["AccountSid"] = AccountSid, ["CallSid"] = NewCallSid(), ["DialCallStatus"] = "completed" });
        Assert.Equal(HttpStatusCode.OK, unknownCall.StatusCode);

        Assert.Equal(before, await CallRowsOnceSettled() - 1);
    }

    [Theory]
    [InlineData("AccountSid=AC0123456789abcdef0123456789abcdef&CallSid=CA%zz&To=%2B15125550180")]   // invalid percent-encoding
    [InlineData("AccountSid=AC0123456789abcdef0123456789abcdef&CallSid=%FF%FE&To=%2B15125550180")]   // not UTF-8
    [InlineData("AccountSid=AC%00&CallSid=CA1&To=%2B15125550180")]   // a NUL byte, which PostgreSQL refuses in text
    [InlineData("AccountSid=AC\u0000&CallSid=CA1&To=%2B15125550180")]
    [InlineData("AccountSid=%C0%AF&CallSid=CA1&To=%2B15125550180")]   // an overlong UTF-8 sequence
    public async Task Malformed_webhook_forms_are_4xx_problems_and_store_nothing(string body)
    {
        var before = await CallRowsOnceSettled();
        foreach (var path in new[] { "/v1/voice/twilio/inbound", "/v1/voice/twilio/status", "/v1/voice/twilio/dial-action" })
        {
            using var response = await Cluster.SendAsync(HttpMethod.Post, path, null,
                new StringContent(System.Text.RegularExpressions.Regex.Unescape(body), Encoding.UTF8, "application/x-www-form-urlencoded"));
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{path}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            // Refused before the account is looked up: a NUL that reached PostgreSQL could upset a pooled connection.
            // (The form reader itself refuses an encoded %00; a raw NUL it passes on.)
            if (body.Contains('\0'))
                Assert.Equal(StorableText.Title, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        }
        Assert.Equal(before, await CallRowsOnceSettled() - 1);
    }

    [Fact]
    public async Task A_CRM_records_outcomes_with_a_scoped_API_key_that_brand_admins_issue_and_revoke()
    {
        var callSid = NewCallSid();
        (await Webhook("/v1/voice/twilio/inbound", InboundForm(callSid, "+15125550180"))).EnsureSuccessStatusCode();
        await Carrier.RecordedAsync(callSid);
        async Task<string> Issue(params string[] scopes)
        {
            using var issued = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/api-keys", Admin, new { name = "HubSpot", scopes });
            Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
            return (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        }
        var crm = await Issue("outcomes:write");
        var bi = await Issue("calls:read");
        var revoked = await Issue("outcomes:write");
        var revokedId = revoked.Split('_')[1];
        using (var revoke = await Cluster.SendAsync(HttpMethod.Delete, $"/v1/tenants/{Tenant}/api-keys/{revokedId}", Admin))
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        var outcome = new { outcome = "appointment", value = 150m, externalId = "crm-appt-1" };
        Task<HttpResponseMessage> Post(string key, string tenant = Tenant) =>
            Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant}/calls/{callSid}/outcome", key, outcome);

        using (var recorded = await Post(crm)) Assert.Equal(HttpStatusCode.OK, recorded.StatusCode);
        using (var readOnly = await Post(bi)) await ProblemAssert.Is(readOnly, HttpStatusCode.Forbidden, "forbidden");
        using (var gone = await Post(revoked)) await ProblemAssert.Is(gone, HttpStatusCode.Unauthorized, "unauthorized");
        using (var forged = await Post(crm[..^4] + "0000")) await ProblemAssert.Is(forged, HttpStatusCode.Unauthorized, "unauthorized");
        using (var elsewhere = await Post(crm, "another-brand")) await ProblemAssert.Is(elsewhere, HttpStatusCode.NotFound, "not-found");
        using (var read = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls/{callSid}", bi))
            Assert.Equal("appointment", (await read.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());
        using (var configure = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/api-keys", crm, new { name = "x", scopes = new[] { "calls:read" } }))
            await ProblemAssert.Is(configure, HttpStatusCode.Forbidden, "forbidden");

        // Each endpoint wants its own scope: the CRM's key records outcomes but reads no call (the outcome's answer masks
        // the caller); a reporting key reads reports but no call; a calls key reads calls but no report.
        var reporting = await Issue("reports:read");
        using (var recorded = await Post(crm))
            Assert.Equal("+1415*****42", (await recorded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caller").GetString());
        foreach (var key in new[] { crm, reporting })
        {
            using (var one = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls/{callSid}", key)) await ProblemAssert.Is(one, HttpStatusCode.Forbidden, "forbidden");
            using (var all = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls", key)) await ProblemAssert.Is(all, HttpStatusCode.Forbidden, "forbidden");
        }
        using (var report = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/locations", reporting)) Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        foreach (var path in new[] { "reports/locations", "reports/markets", "locations/austin-downtown/report" })
            using (var report = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/{path}", bi)) await ProblemAssert.Is(report, HttpStatusCode.Forbidden, "forbidden");

        var stored = await fixture.Database.Scalar<byte[]>("SELECT secret_hash FROM callmesh.api_keys WHERE key_id = $1", crm.Split('_')[1]);
        Assert.Equal(32, stored!.Length);   // a SHA-256, never the secret
        using var list = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/api-keys", Admin);
        Assert.DoesNotContain(crm.Split('_')[2], await list.Content.ReadAsStringAsync());
    }
}
