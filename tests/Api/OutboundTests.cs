using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Outbound;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;
using CsvHelper;
using StandardWebhooks;

namespace CallMesh.Tests.Api;

/// <summary>
/// Two silos whose outbound client may reach the loopback (CALLMESH_OUTBOUND__ALLOWPRIVATENETWORKS, as a developer's local
/// receiver needs) and whose retry schedule is seconds instead of hours, so outages and their recovery fit in a test.
/// </summary>
public sealed class OutboundFixture : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();
    public ProcessCluster Cluster { get; private set; } = null!;
    public WebhookReceiver Receiver { get; private set; } = null!;
    /// <summary>The deployment's mail server, down until a test brings it up.</summary>
    public SmtpReceiver Mail { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        Receiver = await WebhookReceiver.StartAsync();
        Mail = await SmtpReceiver.StartAsync(up: false);
        Cluster = await ProcessCluster.StartAsync(Database.ConnectionString, silos: 2, siloSettings: new()
        {
            ["CALLMESH_OUTBOUND__ALLOWPRIVATENETWORKS"] = "true",
            ["CALLMESH_OUTBOUND__RETRYSECONDS"] = "1,2,3,5,8,13,21",
            ["CALLMESH_OUTBOUND__DISABLEAFTERHOURS"] = (20.0 / 3600).ToString(CultureInfo.InvariantCulture),   // 20 s
            ["CALLMESH_OUTBOUND__BATCHSIZE"] = "20",
            ["CALLMESH_SMTP__HOST"] = "127.0.0.1",
            ["CALLMESH_SMTP__PORT"] = Mail.Port.ToString(),
            ["CALLMESH_SMTP__SECURITY"] = "none",
            ["CALLMESH_SMTP__FROM"] = "CallMesh <alerts@bluebonnet.example>",
            ["CALLMESH_SMTP__DASHBOARDURL"] = "https://calls.bluebonnet.example/dashboard/",
        });
        await DemoSeeder.SeedAsync(Cluster.Http, Cluster.SigningKeyHex, Repo.DemoBrandFile);
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Receiver.DisposeAsync();
        await Mail.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>Conversions out end to end: calls by signed carrier webhooks through the gateway, events to local receivers.</summary>
[Collection(ProcessTests.Name)]
public sealed class OutboundTests(OutboundFixture fixture) : IClassFixture<OutboundFixture>, IAsyncLifetime
{
    private const string Tenant = "bluebonnet", GbpNumber = "+15125550180";
    private ProcessCluster Cluster => fixture.Cluster;
    private WebhookReceiver Receiver => fixture.Receiver;
    private TwilioCarrier Carrier => new(fixture.Cluster);
    private string Admin => Cluster.Token(Tenant, Roles.BrandAdmin);

    public Task InitializeAsync() => Carrier.RegisterAsync(Tenant, Admin);

    public Task DisposeAsync() => Task.CompletedTask;

    private static readonly string[] CallEventTypes = ["call.started", "call.completed", "call.qualified", "outcome.set", "revenue.changed"];

    private async Task<JsonElement> CreateAsync(object body, string? token = null)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations", token ?? Admin, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<(string Id, string Secret)> WebhookAsync(string path, string[]? events = null, object? filters = null)
    {
        var created = await CreateAsync(new { kind = "webhook", name = path, url = Receiver.Url(path), events = events ?? CallEventTypes, filters });
        return (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
    }

    /// <summary>A call to <paramref name="to"/>, answered and talked for <paramref name="talkSeconds"/> (60 s or more qualifies in the demo brand).</summary>
    private async Task<string> CallAsync(string to = GbpNumber, int talkSeconds = 80, string? from = null)
    {
        var callSid = await RingAsync(to, from);
        await Carrier.CompleteAsync(callSid, talkSeconds);
        return callSid;
    }

    /// <summary>A new call to <paramref name="to"/>, answered by the carrier's inbound webhook; nothing more yet.</summary>
    private async Task<string> RingAsync(string to = GbpNumber, string? from = null)
    {
        var callSid = TwilioCarrier.NewCallSid();
        using var inbound = await Carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, to, from ?? $"+1512555{Random.Shared.Next(1000, 10_000)}"));
        Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
        return callSid;
    }

    private async Task SetOutcomeAsync(string callSid, string outcome, decimal value)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/calls/{callSid}/outcome", Admin, new { outcome, value });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> GetAsync(string path, string? token = null)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, path, token ?? Admin);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static JsonElement Body(ReceivedRequest r) => JsonDocument.Parse(r.Body).RootElement;
    private static string CallOf(ReceivedRequest r) => Body(r).GetProperty("data").GetProperty("id").GetString()!;
    private static string TypeOf(ReceivedRequest r) => Body(r).GetProperty("type").GetString()!;

    [Fact]
    public async Task A_webhook_gets_each_call_event_once_signed_in_order_with_the_call_resource()
    {
        var (id, secret) = await WebhookAsync("/hooks/all");
        Assert.StartsWith("whsec_", secret);
        var shown = await GetAsync($"/v1/tenants/{Tenant}/destinations/{id}");
        Assert.False(shown.TryGetProperty("secret", out _));   // shown once, at creation
        Assert.DoesNotContain(secret, (await GetAsync($"/v1/tenants/{Tenant}/destinations")).GetRawText());
        // Stored sealed: neither the signing secret nor the carrier's token is in the database in the clear, nor the keys
        // that seal them (encrypted with the silos' Data Protection certificate).
        var credentials = await fixture.Database.Scalar<string>("SELECT credentials::text FROM callmesh.destinations WHERE destination_id = $1", id);
        Assert.StartsWith("\"dp1:", credentials);
        Assert.DoesNotContain(secret, credentials);
        var carrierToken = await fixture.Database.Scalar<string>("SELECT auth_token FROM callmesh.carrier_accounts WHERE account_sid = $1", TwilioCarrier.AccountSid);
        Assert.StartsWith("dp1:", carrierToken);
        Assert.DoesNotContain(TwilioCarrier.AuthToken, carrierToken);
        var keys = await fixture.Database.Scalar<string>("SELECT string_agg(xml, '') FROM callmesh.data_protection_keys");
        Assert.Contains("encryptedSecret", keys);
        Assert.DoesNotContain("<value>", keys);

        var callSid = await CallAsync();
        await SetOutcomeAsync(callSid, "sale", 250m);
        await SetOutcomeAsync(callSid, "sale", 300m);
        var got = await Receiver.UntilAsync("/hooks/all", r => r.Count(x => CallOf(x) == callSid) >= 5);
        var mine = got.Where(r => CallOf(r) == callSid).ToList();
        // In the order the call changed (the forwarded leg's 80 s may qualify it before or after the caller's leg ends).
        Assert.Equal("call.started", TypeOf(mine[0]));
        Assert.Equal(["call.completed", "call.qualified"], mine.Skip(1).Take(2).Select(TypeOf).Order());
        Assert.Equal(["outcome.set", "revenue.changed"], mine.Skip(3).Select(TypeOf));
        Assert.Equal(await OutboxOrderAsync(id, callSid), mine.Select(r => r.Header("webhook-id")));
        Assert.Equal(5, mine.Select(r => r.Header("webhook-id")).Distinct().Count());
        foreach (var request in mine)
        {
            // Verified apart from our signer: the StandardWebhooks package and the spec's algorithm.
            new StandardWebhook(secret, WebhookConfigurationOptions.StandardWebhooks).Verify(request.Body, Headers(request));
            Assert.True(SpecWebhookVerifier.Verify(secret, request));
            Assert.StartsWith("evt_", request.Header("webhook-id"));
            Assert.InRange(long.Parse(request.Header("webhook-timestamp")!), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
            Assert.True(DateTime.TryParse(Body(request).GetProperty("timestamp").GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _));
        }
        // The data is the call as the calls API returns it, as it stood when the event happened.
        var started = Body(mine[0]).GetProperty("data");
        var completed = Body(mine.Single(r => TypeOf(r) == "call.completed")).GetProperty("data");
        Assert.Equal(("ringing", JsonValueKind.Null), (started.GetProperty("status").GetString(), started.GetProperty("endedAt").ValueKind));
        Assert.Equal(("completed", "austin-downtown", "gbp"), (completed.GetProperty("status").GetString(),
            completed.GetProperty("location").GetString(), completed.GetProperty("medium").GetString()));
        Assert.Equal((300m, 80), (Body(mine[4]).GetProperty("data").GetProperty("value").GetDecimal(), Body(mine[4]).GetProperty("data").GetProperty("talkSeconds").GetInt32()));
        var api = await GetAsync($"/v1/tenants/{Tenant}/calls/{callSid}");
        Assert.Equal(api.EnumerateObject().Select(p => p.Name), Body(mine[4]).GetProperty("data").EnumerateObject().Select(p => p.Name));

        // The delivery log: newest first, one attempt each, 200.
        var deliveries = await DeliveredAsync(id, 5);
        var items = deliveries.GetProperty("items").EnumerateArray().Where(d => d.GetProperty("callId").GetString() == callSid).ToList();
        Assert.Equal(mine.Select(TypeOf).Reverse(), items.Select(d => d.GetProperty("type").GetString()));
        Assert.All(items, d => Assert.Equal(("delivered", 1, 200), (d.GetProperty("state").GetString(), d.GetProperty("attempts").GetInt32(), d.GetProperty("lastStatus").GetInt32())));
        var attempts = await GetAsync($"/v1/tenants/{Tenant}/destinations/{id}/deliveries/{items[0].GetProperty("eventId").GetString()}/attempts");
        var attempt = Assert.Single(attempts.GetProperty("items").EnumerateArray());
        Assert.Equal((1, 200, "ok"), (attempt.GetProperty("attempt").GetInt32(), attempt.GetProperty("status").GetInt32(), attempt.GetProperty("response").GetString()));
        Assert.True(attempt.GetProperty("latencyMs").GetInt32() >= 0);
    }

    /// <summary>The event ids of a call's deliveries to a destination in outbox order (the order its changes were committed).</summary>
    private async Task<List<string?>> OutboxOrderAsync(string destination, string callSid) =>
        [.. (await GetAsync($"/v1/tenants/{Tenant}/destinations/{destination}/deliveries?limit=500")).GetProperty("items").EnumerateArray()
            .Where(d => d.GetProperty("callId").GetString() == callSid).Reverse().Select(d => d.GetProperty("eventId").GetString())];

    private async Task<JsonElement> DeliveredAsync(string destination, int atLeast)
    {
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            var page = await GetAsync($"/v1/tenants/{Tenant}/destinations/{destination}/deliveries?limit=500");
            if (page.GetProperty("items").EnumerateArray().Count(d => d.GetProperty("state").GetString() == "delivered") >= atLeast) return page;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(10), $"deliveries were not recorded: {page}");
        }
    }

    /// <summary>The destination once it is disabled (failing with <paramref name="patience"/> before).</summary>
    private async Task<JsonElement> UntilDisabledAsync(string id, TimeSpan patience)
    {
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(200))
        {
            var state = await GetAsync($"/v1/tenants/{Tenant}/destinations/{id}");
            if (state.GetProperty("state").GetString() == "disabled") return state;
            Assert.True(wait.Elapsed < patience, state.ToString());
        }
    }

    private static Microsoft.AspNetCore.Http.HeaderDictionary Headers(ReceivedRequest r) => new()
    {
        ["webhook-id"] = r.Header("webhook-id"), ["webhook-timestamp"] = r.Header("webhook-timestamp"), ["webhook-signature"] = r.Header("webhook-signature"),
    };

    [Fact]
    public async Task A_missed_call_alert_goes_once_and_an_answered_call_sends_none()
    {
        await WebhookAsync("/hooks/missed", events: ["call.completed", "call.missed"]);
        var missed = TwilioCarrier.NewCallSid();
        using (var inbound = await Carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(missed, GbpNumber)))
            Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
        await Carrier.MissAsync(missed);
        await Carrier.MissAsync(missed);   // the carrier repeating its callbacks
        var answered = await CallAsync();

        // A call's events go in the order it changed: once its completion is in, an alert it caused would be too.
        var got = await Receiver.UntilAsync("/hooks/missed", r => r.Count(x => CallOf(x) == missed) >= 2 && r.Any(x => CallOf(x) == answered));
        Assert.Equal(["call.completed", "call.missed"], got.Where(x => CallOf(x) == missed).Select(TypeOf));
        Assert.Equal(["call.completed"], got.Where(x => CallOf(x) == answered).Select(TypeOf));
        var call = Body(got.Last(x => CallOf(x) == missed)).GetProperty("data");
        Assert.Equal((false, "open"), (call.GetProperty("answered").GetBoolean(), call.GetProperty("followUp").GetString()));
    }

    [Fact]
    public async Task A_call_whose_callers_leg_reports_its_end_before_the_answer_is_completed_answered_and_never_missed()
    {
        await WebhookAsync("/hooks/order", events: ["call.completed", "call.missed"]);
        var callSid = await RingAsync();
        // Callbacks come in any order, through any silo: here the caller's end is applied before the forwarded leg's answer.
        await Carrier.StatusAsync(TwilioCarrier.StatusForm(callSid, "completed", 90));
        await Carrier.RecordedAsync(callSid, until: call => call.GetProperty("durationSeconds").GetInt32() == 90);
        await Carrier.StatusAsync(TwilioCarrier.DialedForm(callSid, "completed", 80));

        // The completion is reported once whether anyone answered is known, with the missed alert (if any) beside it.
        var got = (await Receiver.UntilAsync("/hooks/order", r => r.Any(x => CallOf(x) == callSid))).Where(x => CallOf(x) == callSid).ToList();
        Assert.Equal(["call.completed"], got.Select(TypeOf));
        var call = Body(got[0]).GetProperty("data");
        Assert.Equal((true, 80), (call.GetProperty("answered").GetBoolean(), call.GetProperty("talkSeconds").GetInt32()));
    }

    [Fact]
    public async Task A_call_whose_dials_outcome_never_comes_is_reported_missed_after_a_wait()
    {
        await WebhookAsync("/hooks/no-dial", events: ["call.completed", "call.missed"]);
        var callSid = await RingAsync();
        await Carrier.StatusAsync(TwilioCarrier.StatusForm(callSid, "completed", 25));
        var ended = System.Diagnostics.Stopwatch.StartNew();

        // Nothing more from the carrier: after the journal's patience the call is settled as its caller's leg tells it.
        var got = await Receiver.UntilAsync("/hooks/no-dial", r => r.Count(x => CallOf(x) == callSid) >= 2, TimeSpan.FromSeconds(40));
        Assert.True(ended.Elapsed > TimeSpan.FromSeconds(5), $"reported {ended.Elapsed} after the caller's end, before the dial could report");
        Assert.Equal(["call.completed", "call.missed"], got.Where(x => CallOf(x) == callSid).Select(TypeOf));
    }

    [Fact]
    public async Task A_missed_call_emails_its_locations_manager_once_though_the_mail_server_was_down_at_first()
    {
        var path = $"/v1/tenants/{Tenant}/destinations";
        async Task<JsonElement> Refused(object body, string field)
        {
            using var response = await Cluster.SendAsync(HttpMethod.Post, path, Admin, body);
            return await ProblemAssert.Is(response, HttpStatusCode.BadRequest, "validation", field);
        }
        await Refused(new { kind = "email", name = "Austin manager" }, "settings.to");
        await Refused(new { kind = "email", name = "Austin manager", settings = new { to = new[] { "not an address" } } }, "settings.to[0]");
        await Refused(new { kind = "email", name = "Austin manager", events = new[] { "call.qualified" }, settings = new { to = new[] { "m@x.example" } } }, "events");
        await Refused(new { kind = "email", name = "Austin manager", url = "https://x.example/", settings = new { to = new[] { "m@x.example" } } }, "url");
        var created = await CreateAsync(new
        {
            kind = "email", name = "Austin manager", settings = new { to = new[] { "austin.manager@bluebonnet.example" } },
            filters = new { locations = new[] { "austin-downtown" } },
        });
        Assert.Equal(["call.missed"], created.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        var id = created.GetProperty("id").GetString()!;

        // Austin's Google Business Profile number rings out while the mail server is down; the alert waits for it.
        var missed = TwilioCarrier.NewCallSid();
        using (var inbound = await Carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(missed, GbpNumber, "+15125550777")))
            Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
        await Carrier.MissAsync(missed);
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            var deliveries = (await GetAsync($"{path}/{id}/deliveries")).GetProperty("items").EnumerateArray().ToList();
            if (deliveries.Any(d => d.GetProperty("callId").GetString() == missed && d.GetProperty("attempts").GetInt32() >= 1)) break;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(20), "no attempt to send the alert was made");
        }
        Assert.Empty(fixture.Mail.Received);
        await fixture.Mail.UpAsync();

        var mail = Assert.Single(await fixture.Mail.UntilAsync(m => m.Count > 0));
        Assert.Equal(["austin.manager@bluebonnet.example"], mail.To);
        Assert.Equal("alerts@bluebonnet.example", mail.From);
        Assert.Equal("Missed call at austin-downtown from +15125550777", mail.Header("Subject"));
        Assert.Contains($"https://calls.bluebonnet.example/dashboard/#call={missed}", mail.Data);
        Assert.Contains("From: google / gbp, campaign gbp-listing", mail.Data);
        // Once: the event's id names the message, and once the outbox has it delivered nothing sends it again.
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            var delivery = (await GetAsync($"{path}/{id}/deliveries")).GetProperty("items").EnumerateArray()
                .Single(d => d.GetProperty("callId").GetString() == missed);
            if (delivery.GetProperty("state").GetString() == "delivered")
            {
                Assert.Equal($"<{delivery.GetProperty("eventId").GetString()}@callmesh>", mail.Header("Message-Id"));
                break;
            }
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(20), "the alert was not recorded as delivered");
        }
        Assert.Single(fixture.Mail.Received);
    }

    [Fact]
    public async Task Destinations_are_brand_admin_only_validated_and_filtered()
    {
        var manager = Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"]);
        using (var create = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations", manager,
                   new { kind = "webhook", name = "x", url = Receiver.Url("/x"), events = new[] { "call.started" } }))
            await ProblemAssert.Is(create, HttpStatusCode.Forbidden, "forbidden");
        using (var list = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/destinations", manager))
            await ProblemAssert.Is(list, HttpStatusCode.Forbidden, "forbidden");
        using (var other = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/destinations", Cluster.Token("other-brand", Roles.BrandAdmin)))
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        var before = await GetAsync($"/v1/tenants/{Tenant}/destinations");
        foreach (var bad in new object[]
                 {
                     new { kind = "fax", name = "x" },
                     new { kind = "webhook", name = "x", url = Receiver.Url("/x"), events = new[] { "call.exploded" } },
                     new { kind = "webhook", name = "x", url = "not a url", events = new[] { "call.started" } },
                     new { kind = "webhook", name = "x", events = new[] { "call.started" } },
                     new { kind = "ga4", name = "x", settings = new { measurementId = "UA-1" } },
                     new { kind = "meta", name = "x", settings = new { datasetId = "123456" } },   // no access token
                     new { kind = "googleAds", name = "x", url = "https://example.com/" },
                 })
        {
            using var response = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations", Admin, bad);
            await ProblemAssert.Is(response, HttpStatusCode.BadRequest, "validation");
        }
        Assert.Equal(before.GetProperty("count").GetInt32(), (await GetAsync($"/v1/tenants/{Tenant}/destinations")).GetProperty("count").GetInt32());

        // Filters: only calls of 90 s or more, and only call.completed.
        var (id, _) = await WebhookAsync("/hooks/long", ["call.completed"], new { minDurationSeconds = 90 });
        var shortCall = await CallAsync(talkSeconds: 20);
        var longCall = await CallAsync(talkSeconds: 100);
        var got = await Receiver.UntilAsync("/hooks/long", r => r.Any(x => CallOf(x) == longCall));
        Assert.DoesNotContain(got, r => CallOf(r) == shortCall);
        Assert.All(got, r => Assert.Equal("call.completed", TypeOf(r)));

        using (var patch = await Cluster.SendAsync(HttpMethod.Patch, $"/v1/tenants/{Tenant}/destinations/{id}", Admin, new { url = "ftp://example.com" }))
            await ProblemAssert.Is(patch, HttpStatusCode.BadRequest, "validation");
        using (var delete = await Cluster.SendAsync(HttpMethod.Delete, $"/v1/tenants/{Tenant}/destinations/{id}", Admin))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using (var gone = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/destinations/{id}", Admin))
            await ProblemAssert.Is(gone, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task A_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends()
    {
        var (id, oldSecret) = await WebhookAsync("/hooks/rotate", ["call.started"]);
        using var rotate = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations/{id}/rotate-secret", Admin, new { overlapHours = 1 });
        Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
        var newSecret = (await rotate.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        Assert.NotEqual(oldSecret, newSecret);
        var callSid = await CallAsync();
        var request = (await Receiver.UntilAsync("/hooks/rotate", r => r.Any(x => CallOf(x) == callSid))).Single(x => CallOf(x) == callSid);
        Assert.Equal(2, request.Header("webhook-signature")!.Split(' ').Length);
        Assert.True(SpecWebhookVerifier.Verify(oldSecret, request));
        Assert.True(SpecWebhookVerifier.Verify(newSecret, request));
        new StandardWebhook(oldSecret, WebhookConfigurationOptions.StandardWebhooks).Verify(request.Body, Headers(request));   // old first

        // No overlap: the new secret alone signs.
        using var again = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations/{id}/rotate-secret", Admin, new { overlapHours = 0 });
        var newest = (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        var next = await CallAsync();
        var last = (await Receiver.UntilAsync("/hooks/rotate", r => r.Any(x => CallOf(x) == next))).Single(x => CallOf(x) == next);
        Assert.Single(last.Header("webhook-signature")!.Split(' '));
        Assert.True(SpecWebhookVerifier.Verify(newest, last));
        Assert.False(SpecWebhookVerifier.Verify(newSecret, last));
    }

    [Fact]
    public async Task A_receiver_down_then_up_gets_every_event_once_in_order_per_call()
    {
        await using var flaky = await WebhookReceiver.StartAsync();
        var created = await CreateAsync(new { kind = "webhook", name = "flaky", url = flaky.Url("/in"), events = new[] { "call.started", "call.completed", "call.qualified" } });
        var id = created.GetProperty("id").GetString()!;
        await flaky.DownAsync();   // connection refused
        var calls = new List<string>();
        for (var i = 0; i < 4; i++) calls.Add(await CallAsync());
        flaky.Status["/in"] = 503;   // back, but failing
        await flaky.UpAsync();
        await Task.Delay(3000);
        flaky.Status["/in"] = 200;
        var got = await flaky.UntilAsync("/in", r => r.Count(x => x.AnsweredStatus == 200 && calls.Contains(CallOf(x))) >= 12, TimeSpan.FromSeconds(40));
        var delivered = got.Where(x => x.AnsweredStatus == 200 && calls.Contains(CallOf(x))).ToList();
        // Once each (no event was acknowledged before), and each call's events in their order.
        Assert.Equal(12, delivered.Select(r => r.Header("webhook-id")).Distinct().Count());
        Assert.Equal(12, delivered.Count);
        var page = await DeliveredAsync(id, 12);
        foreach (var call in calls)
        {
            var order = delivered.Where(r => CallOf(r) == call).ToList();
            Assert.Equal("call.started", TypeOf(order[0]));
            Assert.Equal(await OutboxOrderAsync(id, call), order.Select(r => r.Header("webhook-id")));
        }
        Assert.Contains(page.GetProperty("items").EnumerateArray(), d => d.GetProperty("attempts").GetInt32() > 1);
        var failed = page.GetProperty("items").EnumerateArray().First(d => d.GetProperty("attempts").GetInt32() > 1).GetProperty("eventId").GetString();
        var attempts = (await GetAsync($"/v1/tenants/{Tenant}/destinations/{id}/deliveries/{failed}/attempts")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(200, attempts[^1].GetProperty("status").GetInt32());
        Assert.Contains(attempts, a => a.GetProperty("status").ValueKind == JsonValueKind.Null || a.GetProperty("status").GetInt32() == 503);
    }

    [Fact]
    public async Task Killing_the_dispatching_silo_mid_batch_loses_nothing_and_repeats_only_what_was_never_recorded()
    {
        await using var slow = await WebhookReceiver.StartAsync();
        slow.Delay = TimeSpan.FromMilliseconds(1500);   // a batch is in flight long enough to kill its silo under it
        var created = await CreateAsync(new { kind = "webhook", name = "slow", url = slow.Url("/in"), events = new[] { "call.started", "call.completed" }, state = "paused" });
        var id = created.GetProperty("id").GetString()!;
        using (var pause = await Cluster.SendAsync(HttpMethod.Patch, $"/v1/tenants/{Tenant}/destinations/{id}", Admin, new { state = "paused" }))
            Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        var calls = new List<string>();
        for (var i = 0; i < 15; i++) calls.Add(await CallAsync(talkSeconds: 30));
        using (var resume = await Cluster.SendAsync(HttpMethod.Patch, $"/v1/tenants/{Tenant}/destinations/{id}", Admin, new { state = "active" }))
            Assert.Equal(HttpStatusCode.OK, resume.StatusCode);

        // The silo that dispatches says so in its log; kill it once the first batch is at the receiver, unanswered.
        int? victim = null;
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); victim is null; await Task.Delay(20))
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(15), "no silo dispatched");
            if (slow.Received.Count < 5) continue;
            for (var i = 0; i < Cluster.Silos.Count; i++)
                if (Cluster.ReadSiloLog(i).Contains($"Destination {id} dispatches on this silo")) victim = i;
        }
        Cluster.Kill(Cluster.Silos[victim.Value]);
        var inFlight = slow.Received.Select(r => r.Header("webhook-id")).ToHashSet();
        slow.Delay = TimeSpan.Zero;

        var got = await slow.UntilAsync("/in", r => r.Select(x => x.Header("webhook-id")).Distinct().Count() >= 30, TimeSpan.FromSeconds(60));
        Assert.Equal(30, got.Select(x => x.Header("webhook-id")).Distinct().Count());
        Assert.All(calls, call => Assert.Equal(2, got.Where(r => CallOf(r) == call).Select(r => r.Header("webhook-id")).Distinct().Count()));
        // Only what was at the receiver when its silo died (its success never recorded) comes twice.
        var repeated = got.GroupBy(r => r.Header("webhook-id")).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.All(repeated, r => Assert.Contains(r, inFlight));
        Assert.Contains("Destination " + id + " dispatches on this silo", Cluster.ReadSiloLog(1 - victim.Value));
        var page = await DeliveredAsync(id, 30);
        Assert.Equal(30, page.GetProperty("items").EnumerateArray().Count(d => d.GetProperty("state").GetString() == "delivered"));

        Cluster.Restart(victim.Value);
        await Cluster.WaitReadyAsync();
    }

    [Fact]
    public async Task Pausing_holds_events_resuming_sends_them_replay_resends_and_410_disables_with_a_notice()
    {
        var (id, _) = await WebhookAsync("/hooks/pause", ["call.started"]);
        using (var pause = await Cluster.SendAsync(HttpMethod.Patch, $"/v1/tenants/{Tenant}/destinations/{id}", Admin, new { state = "paused" }))
            Assert.Equal("paused", (await pause.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        var held = await CallAsync();
        await Task.Delay(2500);
        Assert.DoesNotContain(Receiver.At("/hooks/pause"), r => CallOf(r) == held);
        var pending = (await GetAsync($"/v1/tenants/{Tenant}/destinations/{id}/deliveries")).GetProperty("items")[0];
        Assert.Equal(("pending", held), (pending.GetProperty("state").GetString(), pending.GetProperty("callId").GetString()));
        using (var resume = await Cluster.SendAsync(HttpMethod.Patch, $"/v1/tenants/{Tenant}/destinations/{id}", Admin, new { state = "active" }))
            Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        var first = (await Receiver.UntilAsync("/hooks/pause", r => r.Any(x => CallOf(x) == held))).Single(x => CallOf(x) == held);

        // Replay one event: the same id again.
        using (var replay = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations/{id}/replay", Admin, new { eventId = first.Header("webhook-id") }))
            Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        await Receiver.UntilAsync("/hooks/pause", r => r.Count(x => x.Header("webhook-id") == first.Header("webhook-id")) == 2);
        // The log keeps the first delivery's attempt and the replay's, each numbered from 1.
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            var log = (await GetAsync($"/v1/tenants/{Tenant}/destinations/{id}/deliveries/{first.Header("webhook-id")}/attempts")).GetProperty("items");
            if (log.GetArrayLength() == 2)
            {
                Assert.Equal([1, 1], log.EnumerateArray().Select(a => a.GetProperty("attempt").GetInt32()));
                break;
            }
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(10), log.ToString());
        }
        using (var bad = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations/{id}/replay", Admin, new { eventId = "evt_x", from = DateTime.UtcNow }))
            await ProblemAssert.Is(bad, HttpStatusCode.BadRequest, "validation");
        // Replay a time range.
        using (var range = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations/{id}/replay", Admin,
                   new { from = DateTime.UtcNow.AddHours(-1), to = DateTime.UtcNow.AddMinutes(1) }))
            Assert.Equal(1, (await range.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32());
        await Receiver.UntilAsync("/hooks/pause", r => r.Count(x => x.Header("webhook-id") == first.Header("webhook-id")) == 3);

        // The receiver says the endpoint is gone: the destination is disabled and the dashboard API says so.
        Receiver.Status["/hooks/pause"] = 410;
        await CallAsync();
        Assert.Contains("410", (await UntilDisabledAsync(id, TimeSpan.FromSeconds(10))).GetProperty("stateReason").GetString());
        var notices = await GetAsync($"/v1/tenants/{Tenant}/notices");
        Assert.Contains(notices.GetProperty("items").EnumerateArray(), n => n.GetProperty("destination").GetString() == id);
    }

    [Fact]
    public async Task Erasing_a_caller_erases_them_from_events_waiting_or_replayed()
    {
        var (id, _) = await WebhookAsync("/hooks/erase", ["call.completed"]);
        var caller = $"+1512557{Random.Shared.Next(1000, 10_000)}";
        var callSid = await CallAsync(from: caller);
        var first = (await Receiver.UntilAsync("/hooks/erase", r => r.Any(x => CallOf(x) == callSid))).Single(x => CallOf(x) == callSid);
        Assert.Equal(caller, Body(first).GetProperty("data").GetProperty("caller").GetString());

        using (var erase = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/privacy/erase", Admin, new { phoneNumber = caller }))
            Assert.True((await erase.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outboxEventsChanged").GetInt32() >= 1);   // other destinations' too
        using (var replay = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/destinations/{id}/replay", Admin, new { eventId = first.Header("webhook-id") }))
            Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        var again = (await Receiver.UntilAsync("/hooks/erase", r => r.Count(x => CallOf(x) == callSid) == 2)).Where(x => CallOf(x) == callSid).Last();
        Assert.DoesNotContain(caller, again.Body);
        Assert.Equal(("erased", "completed"), (Body(again).GetProperty("data").GetProperty("caller").GetString(), Body(again).GetProperty("data").GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_destination_failing_for_longer_than_the_limit_is_disabled()
    {
        var closed = Ports.Free();   // nothing listens: every attempt is refused
        var created = await CreateAsync(new { kind = "webhook", name = "dead end", url = $"http://127.0.0.1:{closed}/in", events = new[] { "call.started" } });
        var id = created.GetProperty("id").GetString()!;
        await CallAsync();
        Assert.StartsWith("Every delivery failed for", (await UntilDisabledAsync(id, TimeSpan.FromSeconds(45))).GetProperty("stateReason").GetString());
        var delivery = (await GetAsync($"/v1/tenants/{Tenant}/destinations/{id}/deliveries")).GetProperty("items")[0];
        Assert.True(delivery.GetProperty("attempts").GetInt32() >= 3);
        Assert.Equal("pending", delivery.GetProperty("state").GetString());   // kept for a replay or a resume
        Assert.False(string.IsNullOrEmpty(delivery.GetProperty("lastError").GetString()));
    }

    [Fact]
    public async Task Ga4_and_meta_get_a_conversion_for_a_qualified_call_only()
    {
        var ga4 = await CreateAsync(new { kind = "ga4", name = "GA4", url = Receiver.Url("/ga4/mp/collect"), settings = new { measurementId = "G-TEST1234", defaultValue = 40 }, apiSecret = "ga4-secret-1" });
        Assert.False(ga4.TryGetProperty("apiSecret", out _));
        Assert.Equal(["call.qualified"], ga4.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        await CreateAsync(new { kind = "meta", name = "Meta", url = Receiver.Url("/meta"), settings = new { datasetId = "1234567890", testEventCode = "TEST1" }, accessToken = "meta-token-1" });
        var caller = $"+1512555{Random.Shared.Next(1000, 10_000)}";
        var shortCaller = $"+1512556{Random.Shared.Next(1000, 10_000)}";
        var unqualified = await CallAsync(talkSeconds: 10, from: shortCaller);
        var qualified = await CallAsync(talkSeconds: 90, from: caller);
        var ga = (await Receiver.UntilAsync("/ga4/mp/collect", r => r.Any(x => x.Body.Contains(qualified)))).Single(x => x.Body.Contains(qualified));
        Assert.Contains("measurement_id=G-TEST1234", ga.Query);
        Assert.Contains("api_secret=ga4-secret-1", ga.Query);
        var gaEvent = Body(ga).GetProperty("events")[0];
        Assert.Equal(("generate_lead", 40m, "USD", "phone_call"), (gaEvent.GetProperty("name").GetString(), gaEvent.GetProperty("params").GetProperty("value").GetDecimal(),
            gaEvent.GetProperty("params").GetProperty("currency").GetString(), gaEvent.GetProperty("params").GetProperty("lead_source").GetString()));
        Assert.Equal(16, Body(ga).GetProperty("timestamp_micros").GetInt64().ToString().Length);
        var phoneHash = ConversionHashing.Sha256Hex(caller[1..]);   // Meta: digits only
        var meta = (await Receiver.UntilAsync("/meta/1234567890/events", r => r.Any(x => x.Body.Contains(phoneHash)))).Single(x => x.Body.Contains(phoneHash));
        Assert.Contains("access_token=meta-token-1", meta.Query);
        var metaEvent = Body(meta).GetProperty("data")[0];
        Assert.Equal(("Lead", "phone_call", "TEST1"), (metaEvent.GetProperty("event_name").GetString(), metaEvent.GetProperty("action_source").GetString(),
            Body(meta).GetProperty("test_event_code").GetString()));
        Assert.Equal(phoneHash, metaEvent.GetProperty("user_data").GetProperty("ph")[0].GetString());
        Assert.StartsWith("evt_", metaEvent.GetProperty("event_id").GetString());
        await Task.Delay(1500);
        Assert.DoesNotContain(Receiver.At("/ga4/mp/collect"), r => r.Body.Contains(unqualified));
        Assert.DoesNotContain(Receiver.At("/meta/1234567890/events"), r => r.Body.Contains(ConversionHashing.Sha256Hex(shortCaller[1..])));
    }

    [Fact]
    public async Task Ad_platform_files_carry_each_conversion_once_with_stable_times_and_adjust_later_values()
    {
        var created = await CreateAsync(new { kind = "googleAds", name = "Google Ads", settings = new { conversionName = "Qualified Call", callConversionName = "Call from ad" } });
        var feeds = created.GetProperty("feedUrls");
        await CreateAsync(new { kind = "microsoftAds", name = "Microsoft Ads", settings = new { conversionName = "Phone lead" } });

        // A visitor from a Google ad (gclid), one from a Microsoft ad (msclkid); each calls their tracking number.
        var fromGoogle = await VisitAndCallAsync("utm_source=google&utm_medium=cpc&gclid=GCLID-OUT-1", "198.51.100.21");
        var fromBing = await VisitAndCallAsync("utm_source=bing&utm_medium=cpc&msclkid=MSCLKID-OUT-1", "198.51.100.22");
        var noClick = await CallAsync();

        var clicks = await CsvAsync($"/v1/tenants/{Tenant}/exports/google-ads/click-conversions.csv");
        Assert.Equal("Parameters:TimeZone=America/Chicago", clicks.Preamble);
        Assert.Equal(["Google Click ID", "GBRAID", "WBRAID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency", "Order ID"], clicks.Header);
        var row = Assert.Single(clicks.Rows, r => r["Order ID"] == fromGoogle);
        var call = await GetAsync($"/v1/tenants/{Tenant}/calls/{fromGoogle}");
        var local = TimeZoneInfo.ConvertTimeFromUtc(call.GetProperty("startedAt").GetDateTime().ToUniversalTime(), TimeZoneInfo.FindSystemTimeZoneById("America/Chicago"));
        Assert.Equal(("GCLID-OUT-1", "Qualified Call", local.ToString("yyyy-MM-dd HH:mm:ss"), "0.00", "USD"),
            (row["Google Click ID"], row["Conversion Name"], row["Conversion Time"], row["Conversion Value"], row["Conversion Currency"]));
        Assert.DoesNotContain(clicks.Rows, r => r["Order ID"] == noClick || r["Order ID"] == fromBing);

        // Revenue arrives later: the click file repeats the first value (Google ignores the repeat), the adjustment restates it.
        await SetOutcomeAsync(fromGoogle, "sale", 180m);
        var again = await CsvAsync($"/v1/tenants/{Tenant}/exports/google-ads/click-conversions.csv");
        Assert.Equal(row, Assert.Single(again.Rows, r => r["Order ID"] == fromGoogle));
        var adjustments = await CsvAsync($"/v1/tenants/{Tenant}/exports/google-ads/conversion-adjustments.csv");
        Assert.Equal(["Order ID", "Conversion Name", "Adjustment Time", "Adjustment Type", "Adjusted Value", "Adjusted Value Currency"], adjustments.Header);
        var restate = Assert.Single(adjustments.Rows, r => r["Order ID"] == fromGoogle);
        Assert.Equal(("Qualified Call", "RESTATE", "180.00", "USD"), (restate["Conversion Name"], restate["Adjustment Type"], restate["Adjusted Value"], restate["Adjusted Value Currency"]));
        Assert.True(string.CompareOrdinal(restate["Adjustment Time"], row["Conversion Time"]) > 0, "an adjustment comes after its conversion");

        // No click id: enhanced conversions for leads with the caller's number hashed (E.164 with '+').
        var leads = await CsvAsync($"/v1/tenants/{Tenant}/exports/google-ads/enhanced-conversions.csv");
        var lead = Assert.Single(leads.Rows, r => r["Order ID"] == noClick);
        var caller = (await GetAsync($"/v1/tenants/{Tenant}/calls/{noClick}")).GetProperty("caller").GetString()!;
        Assert.Equal(ConversionHashing.Sha256Hex(caller), lead["Phone Number"]);
        Assert.Matches("^[0-9a-f]{64}$", lead["Phone Number"]);

        var bing = await CsvAsync($"/v1/tenants/{Tenant}/exports/microsoft-ads/offline-conversions.csv");
        Assert.Equal(["Type", "Status", "Id", "Parent Id", "Client Id", "Name", "Conversion Currency Code", "Conversion Name", "Conversion Time", "Conversion Value", "Microsoft Click Id"], bing.Header);
        Assert.Equal(("Format Version", "6.0"), (bing.Rows[0]["Type"], bing.Rows[0]["Name"]));
        var offline = Assert.Single(bing.Rows, r => r["Microsoft Click Id"] == "MSCLKID-OUT-1");
        var bingStart = (await GetAsync($"/v1/tenants/{Tenant}/calls/{fromBing}")).GetProperty("startedAt").GetDateTime().ToUniversalTime();
        Assert.Equal(("Offline Conversion", "Phone lead", bingStart.ToString("M/d/yyyy h:mm:ss tt", CultureInfo.InvariantCulture), "USD"),
            (offline["Type"], offline["Conversion Name"], offline["Conversion Time"], offline["Conversion Currency Code"]));

        // The scheduled fetch: the feed URL alone, no token; a wrong token finds nothing; location managers get no files.
        var feedPath = new Uri(feeds.GetProperty("clickConversions").GetString()!).PathAndQuery;
        using (var feed = await Cluster.SendAsync(HttpMethod.Get, feedPath, null))
        {
            Assert.Equal(HttpStatusCode.OK, feed.StatusCode);
            Assert.Contains("GCLID-OUT-1", await feed.Content.ReadAsStringAsync());
        }
        using (var wrong = await Cluster.SendAsync(HttpMethod.Get, "/v1/feeds/feed_nope/google-ads/click-conversions.csv", null))
            Assert.Equal(HttpStatusCode.NotFound, wrong.StatusCode);
        using (var manager = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/exports/google-ads/click-conversions.csv",
                   Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"])))
            await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
        Assert.DoesNotContain(feeds.GetProperty("clickConversions").GetString()!, (await GetAsync($"/v1/tenants/{Tenant}/destinations")).GetRawText());
    }

    [Fact]
    public async Task Calls_through_a_google_forwarding_number_go_back_as_call_conversions()
    {
        // The brand gives a Google Ads call asset this static number as its business number.
        const string number = "+15125550181";
        using (var import = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/numbers", Admin,
                   new[] { new { number, carrier = "twilio", accountSid = TwilioCarrier.AccountSid } }))
            Assert.True(import.IsSuccessStatusCode, await import.Content.ReadAsStringAsync());
        using (var put = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/austin-downtown/static-numbers/google-call-asset", Admin,
                   new { number, medium = "google-ads-call", source = "google", label = "Google Ads call asset" }))
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var caller = $"+1737555{Random.Shared.Next(1000, 10_000)}";
        string callSid;
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(500))
        {
            callSid = await CallAsync(number, 75, caller);
            if ((await GetAsync($"/v1/tenants/{Tenant}/calls/{callSid}")).GetProperty("medium").GetString() == "google-ads-call") break;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(15), "the new static number was not in use");
        }
        var file = await CsvAsync($"/v1/tenants/{Tenant}/exports/google-ads/call-conversions.csv");
        Assert.Equal(["Caller's Phone Number", "Call Start Time", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency"], file.Header);
        var row = Assert.Single(file.Rows, r => r["Caller's Phone Number"] == caller && r["Call Start Time"] == r["Conversion Time"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", row["Call Start Time"]);
    }

    private async Task<string> VisitAndCallAsync(string query, string clientIp)
    {
        var dni = new StringContent(JsonSerializer.Serialize(new
        {
            siteKey = "bluebonnet-web", url = $"http://127.0.0.1:9999/locations/katy?{query}", targets = new[] { "+17135550116" },
        }), System.Text.Encoding.UTF8, "text/plain");
        using var session = await Cluster.SendAsync(HttpMethod.Post, "/v1/dni/sessions?siteKey=bluebonnet-web", null, dni, r => r.Headers.Add("X-Forwarded-For", clientIp));
        Assert.Equal(HttpStatusCode.OK, session.StatusCode);
        var tracking = (await session.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0].GetProperty("number").GetString()!;
        return await CallAsync(tracking, 70);
    }

    private sealed record CsvFile(string? Preamble, string[] Header, List<Dictionary<string, string>> Rows);

    /// <summary>A file as an ad platform reads it: CsvHelper over the body, after the optional parameters row.</summary>
    private async Task<CsvFile> CsvAsync(string path)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, path, Admin);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StringReader(await response.Content.ReadAsStringAsync());
        string? preamble = null;
        if (reader.Peek() == 'P') preamble = reader.ReadLine();
        using var csv = new CsvReader(reader, CultureInfo.InvariantCulture);
        Assert.True(csv.Read() && csv.ReadHeader());
        var header = csv.HeaderRecord!;
        var rows = new List<Dictionary<string, string>>();
        while (csv.Read()) rows.Add(header.ToDictionary(h => h, h => csv.GetField(h)!));
        return new CsvFile(preamble, header, rows);
    }
}

