using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Carriers;
using CallMesh.Identity;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>
/// What happens to a call at a location, through the gateway as the carrier drives it: the ring strategy (each step's exact
/// TwiML, the dial action's callback moving to the next step, voicemail or a goodbye after the last) and what the call and
/// the reports record of it; spam calls.
/// </summary>
[Collection(ProcessTests.Name)]
public sealed class CallHandlingTests(ApiFixture fixture) : IClassFixture<ApiFixture>, IAsyncLifetime
{
    private const string Tenant = "bluebonnet";
    private const string AccountSid = TwilioCarrier.AccountSid;
    private const string Caller = "+14155550142";
    private const string Store = "+18325550301", Desk1 = "+17135550302", Desk2 = "+17135550303";
    private ProcessCluster Cluster => fixture.Cluster;
    private TwilioCarrier Carrier => new(Cluster);
    private string Admin => Cluster.Token(Tenant, Roles.BrandAdmin);
    private string Webhooks => Cluster.Gateway.ToString().TrimEnd('/') + "/v1/voice/twilio";

    public Task InitializeAsync() => Carrier.RegisterAsync(Tenant, Admin);

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A location open around the clock with these routing fields, and a static number that rings it.</summary>
    private async Task<(string Location, string Number)> LocationWithNumberAsync(object routing)
    {
        var id = $"ring-{Guid.NewGuid():N}"[..13];
        var location = new Dictionary<string, object?>
        {
            ["name"] = "Katy Ring Test", ["napPhone"] = DniSetup.NewNumbers(1)[0], ["timeZone"] = "America/Chicago",
            ["address"] = new { line1 = "1 Main St", city = "Katy", region = "TX", postalCode = "77494", country = "US" },
            ["businessHours"] = new[] { "mon", "tue", "wed", "thu", "fri", "sat", "sun" }.Select(day => new { day, open = "00:00", close = "24:00" }),
        };
        foreach (var property in JsonSerializer.SerializeToElement(routing).EnumerateObject()) location[property.Name] = property.Value;
        using (var put = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/{id}", Admin, location))
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var number = DniSetup.NewNumbers(1)[0];
        (await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/numbers", Admin, new[] { new { number, carrier = "twilio" } })).EnsureSuccessStatusCode();
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/{id}/static-numbers/billboard", Admin,
            new { number, medium = "billboard", source = "lamar" })).EnsureSuccessStatusCode();
        return (id, number);
    }

    private async Task<string> PostAsync(string path, Dictionary<string, string> form)
    {
        using var response = await Carrier.Webhook(path, form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The dial action's callback as the carrier posts it: the call's own parameters and the step's result.</summary>
    /// <summary>
    /// Each silo routes from its copy of the tenant's numbers, locations and blocklist, reloaded when PostgreSQL says they
    /// changed (at most once a second): after a change, the carrier's webhook is answered anew until the answer shows it.
    /// </summary>
    private static async Task<string> OnceRoutedAsync(Func<Task<string>> post, Func<string, bool> shows)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        string answer;
        while (!shows(answer = await post()) && DateTime.UtcNow < deadline) await Task.Delay(50);
        return answer;
    }

    private static Dictionary<string, string> DialResult(string callSid, string to, string status, int? talkSeconds = null) => new()
    {
        ["AccountSid"] = AccountSid, ["CallSid"] = callSid, ["From"] = Caller, ["To"] = to, ["DialCallStatus"] = status,
        ["DialCallDuration"] = $"{talkSeconds ?? 0}", ["DialBridged"] = talkSeconds is null ? "false" : "true",
    };

    private static string Xml(string body) => $"""<?xml version="1.0" encoding="utf-8"?><Response>{body}</Response>""";

    private string Dial(int step, int timeout, string route, bool whisper, params string[] numbers) =>
        $"""<Dial action="{Webhooks}/dial-action?step={step}&amp;route={route}" timeout="{timeout}" callerId="{Caller}" answerOnBridge="true">""" +
        string.Concat(numbers.Select(n => "<Number " + (whisper ? $"""url="{Webhooks}/whisper?step={step}" """ : "") +
            $"""statusCallback="{Webhooks}/status?step={step}" statusCallbackEvent="initiated ringing answered completed">{n}</Number>""")) + "</Dial>";

    private async Task StatusAsync(string callSid, int seconds, string leg = "caller", int? step = null, string status = "completed")
    {
        var form = new Dictionary<string, string> { ["AccountSid"] = AccountSid, ["CallStatus"] = status, ["CallDuration"] = $"{seconds}" };
        if (leg == "caller") (form["CallSid"], form["SequenceNumber"]) = (callSid, "0");
        else (form["CallSid"], form["ParentCallSid"], form["SequenceNumber"]) = ("CB" + callSid[2..], callSid, "3");
        using var response = await Carrier.Webhook(step is null ? "/v1/voice/twilio/status" : $"/v1/voice/twilio/status?step={step}", form);
        Assert.True(response.IsSuccessStatusCode);
    }

    /// <summary>The location's row of the locations report counts the ring as a GROUP BY over its calls does.</summary>
    private async Task AssertReportMatchesCallsAsync(string location)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/locations", Admin);
        var row = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
            .Single(i => i.GetProperty("location").GetString() == location).GetProperty("measures");
        var truth = await fixture.Database.Scalar<string>(
            $"""
            SELECT concat_ws('/', count(*), count(*) FILTER (WHERE answered), count(*) FILTER (WHERE NOT answered AND ended_at IS NOT NULL),
                   count(*) FILTER (WHERE voicemail AND NOT answered), coalesce(sum(ring_seconds) FILTER (WHERE answered), 0),
                   count(*) FILTER (WHERE answered AND ring_seconds IS NOT NULL))
              FROM callmesh.calls WHERE tenant_id = '{Tenant}' AND location_id = '{location}'
            """);
        string M(string name) => row.GetProperty(name).GetDecimal().ToString("0");
        var parts = truth!.Split('/').Select(decimal.Parse).ToArray();
        Assert.Equal(string.Join('/', parts.Take(4)), string.Join('/', M("calls"), M("answered"), M("missed"), M("voicemails")));
        Assert.Equal(Math.Round(parts[1] / parts[0], 4), row.GetProperty("answerRate").GetDecimal());
        if (parts[5] > 0) Assert.Equal(Math.Round(parts[4] / parts[5], 1), row.GetProperty("avgRingSeconds").GetDecimal());
        else Assert.Equal(JsonValueKind.Null, row.GetProperty("avgRingSeconds").ValueKind);
    }

    [Fact]
    public async Task The_store_does_not_answer_the_call_center_does_at_step_two_and_the_call_says_which_step_and_how_long_it_rang()
    {
        var (location, number) = await LocationWithNumberAsync(new
        {
            ringSteps = new object[] { new { numbers = new[] { Store }, timeoutSeconds = 20 }, new { numbers = new[] { Desk1, Desk2 }, timeoutSeconds = 30 } },
            voicemail = true, whisper = "Call from {source} for Katy",
        });
        var callSid = TwilioCarrier.NewCallSid();
        var first = await PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, number, Caller));
        Assert.Equal(Xml(Dial(1, 20, "open", whisper: true, Store)), first);

        // Step 1 rang out: step 2 rings both desks together; the same callback again gets the same answer.
        var noAnswer = DialResult(callSid, number, "no-answer");
        var second = await PostAsync("/v1/voice/twilio/dial-action?step=1&route=open", noAnswer);
        Assert.Equal(Xml(Dial(2, 30, "open", whisper: true, Desk1, Desk2)), second);
        Assert.Equal(second, await PostAsync("/v1/voice/twilio/dial-action?step=1&route=open", noAnswer));

        // A desk answers: it hears the whisper with the call's source, talks 60 s; the caller's leg lasted 85 s.
        await Carrier.RecordedAsync(callSid);
        var whisper = await PostAsync("/v1/voice/twilio/whisper?step=2", new Dictionary<string, string>
        {
            ["AccountSid"] = AccountSid, ["CallSid"] = "CB" + callSid[2..], ["ParentCallSid"] = callSid, ["To"] = Desk1, ["CallStatus"] = "in-progress",
        });
        Assert.Equal(Xml("<Say>Call from lamar for Katy</Say>"), whisper);
        await StatusAsync(callSid, 60, leg: "dialed", step: 2);
        var answered = DialResult(callSid, number, "completed", talkSeconds: 60);
        Assert.Equal(Xml("<Hangup />"), await PostAsync("/v1/voice/twilio/dial-action?step=2&route=open", answered));
        await StatusAsync(callSid, 85);

        var call = await Carrier.RecordedAsync(callSid, until: c => c.GetProperty("durationSeconds").GetInt32() == 85 && c.GetProperty("talkSeconds").GetInt32() == 60);
        Assert.Equal((true, 2, 25, false, "completed"), (call.GetProperty("answered").GetBoolean(), call.GetProperty("answeredByStep").GetInt32(),
            call.GetProperty("ringSeconds").GetInt32(), call.GetProperty("voicemail").GetBoolean(), call.GetProperty("status").GetString()));
        Assert.Equal(Store, call.GetProperty("routedTo").GetString());
        Assert.Equal(JsonValueKind.Null, call.GetProperty("followUp").ValueKind);
        await AssertReportMatchesCallsAsync(location);
    }

    [Fact]
    public async Task When_every_step_fails_the_caller_leaves_a_voicemail_and_the_call_is_missed_with_it_whatever_the_order_of_callbacks()
    {
        var (location, number) = await LocationWithNumberAsync(new
        {
            ringSteps = new object[] { new { numbers = new[] { Store }, timeoutSeconds = 15 }, new { numbers = new[] { Desk1 } } },
            voicemail = true,
        });
        var callSid = TwilioCarrier.NewCallSid();
        Assert.Equal(Xml(Dial(1, 15, "open", whisper: false, Store)), await PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, number, Caller)));
        var busy = DialResult(callSid, number, "busy");
        var noAnswer = DialResult(callSid, number, "no-answer");
        var voicemail = Xml($"""<Say>{TwiML.VoicemailPrompt}</Say><Record action="{Webhooks}/voicemail" maxLength="180" playBeep="true" />""");
        // Step 2's result arrives before step 1's repeat: each answer is its own step's.
        Assert.Equal(Xml(Dial(2, 20, "open", whisper: false, Desk1)), await PostAsync("/v1/voice/twilio/dial-action?step=1&route=open", noAnswer));
        Assert.Equal(voicemail, await PostAsync("/v1/voice/twilio/dial-action?step=2&route=open", busy));
        Assert.Equal(Xml(Dial(2, 20, "open", whisper: false, Desk1)), await PostAsync("/v1/voice/twilio/dial-action?step=1&route=open", noAnswer));

        const string message = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE77";
        var left = new Dictionary<string, string>
        {
            ["AccountSid"] = AccountSid, ["CallSid"] = callSid, ["RecordingUrl"] = message, ["RecordingDuration"] = "14", ["RecordingStatus"] = "completed",
        };
        Assert.Equal(Xml("<Hangup />"), await PostAsync("/v1/voice/twilio/voicemail", left));
        Assert.Equal(Xml("<Hangup />"), await PostAsync("/v1/voice/twilio/voicemail", left));
        await StatusAsync(callSid, 70);

        var call = await Carrier.RecordedAsync(callSid, until: c => c.GetProperty("voicemail").GetBoolean() && c.GetProperty("durationSeconds").GetInt32() == 70);
        Assert.Equal((false, message, "open"), (call.GetProperty("answered").GetBoolean(), call.GetProperty("recordingUrl").GetString(),
            call.GetProperty("followUp").GetString()));
        Assert.Equal(JsonValueKind.Null, call.GetProperty("answeredByStep").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, call.GetProperty("endedAt").ValueKind);
        await AssertReportMatchesCallsAsync(location);
    }

    [Fact]
    public async Task A_forward_number_alone_is_one_step_and_without_voicemail_nobody_answering_gets_a_goodbye()
    {
        var (_, number) = await LocationWithNumberAsync(new { forwardTo = Store });
        var callSid = TwilioCarrier.NewCallSid();
        Assert.Equal(Xml(Dial(1, 25, "open", whisper: false, Store)), await PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, number, Caller)));
        var noAnswer = DialResult(callSid, number, "no-answer");
        Assert.Equal(Xml($"<Say>{TwiML.Goodbye}</Say><Hangup />"), await PostAsync("/v1/voice/twilio/dial-action?step=1&route=open", noAnswer));
        var call = await Carrier.RecordedAsync(callSid, until: c => c.GetProperty("endedAt").ValueKind != JsonValueKind.Null);
        Assert.Equal((false, false, "open"), (call.GetProperty("answered").GetBoolean(), call.GetProperty("voicemail").GetBoolean(),
            call.GetProperty("followUp").GetString()));

        // A caller who hangs up while it rings: nothing more to say.
        var hungUp = TwilioCarrier.NewCallSid();
        await PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(hungUp, number, Caller));
        Assert.Equal(Xml("<Hangup />"), await PostAsync("/v1/voice/twilio/dial-action?step=1&route=open", DialResult(hungUp, number, "canceled")));
    }

    [Fact]
    public async Task A_number_given_to_a_location_a_moment_ago_rings_there_before_the_silos_copy_has_caught_up()
    {
        // Each silo's routing copy reloads at most once a second: imported, the number is copied as unassigned; given to
        // the location right after, the copy still says unassigned for most of a second. Its first call rings anyway.
        var (location, _) = await LocationWithNumberAsync(new { forwardTo = Desk1 });
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var number = DniSetup.NewNumbers(1)[0];
        (await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/numbers", Admin, new[] { new { number, carrier = "twilio" } })).EnsureSuccessStatusCode();
        await Task.Delay(TimeSpan.FromMilliseconds(250));
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/{location}/static-numbers/radio", Admin,
            new { number, medium = "radio", source = "kpft" })).EnsureSuccessStatusCode();
        Assert.Equal(Xml(Dial(1, 25, "open", whisper: false, Desk1)),
            await PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), number, Caller)));
    }

    [Fact]
    public async Task A_PATCH_sets_the_ring_steps_alone_and_the_next_call_rings_them()
    {
        var (id, number) = await LocationWithNumberAsync(new { forwardTo = Store, whisper = "Call for Katy" });
        var path = $"/v1/tenants/{Tenant}/locations/{id}";
        var patch = new { ringSteps = new object[] { new { numbers = new[] { Desk1, Desk2 }, timeoutSeconds = 12 } }, voicemail = true, whisper = (string?)null };
        using (var patched = await Cluster.SendAsync(HttpMethod.Patch, path, Admin, patch))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            var location = await patched.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal((Store, "Katy Ring Test", true, JsonValueKind.Null), (location.GetProperty("forwardTo").GetString(), location.GetProperty("name").GetString(),
                location.GetProperty("voicemail").GetBoolean(), location.GetProperty("whisper").ValueKind));
            Assert.Equal(12, location.GetProperty("ringSteps")[0].GetProperty("timeoutSeconds").GetInt32());
        }
        var callSid = TwilioCarrier.NewCallSid();   // the same call's webhook retried: one call
        var expected = Xml(Dial(1, 12, "open", whisper: false, Desk1, Desk2));
        Assert.Equal(expected, await OnceRoutedAsync(() => PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, number, Caller)),
            answer => answer == expected));

        using (var manager = await Cluster.SendAsync(HttpMethod.Patch, path, Cluster.Token(Tenant, Roles.LocationManager, [id]), new { voicemail = false }))
            await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
        using (var elsewhere = await Cluster.SendAsync(HttpMethod.Patch, path, Cluster.Token(Tenant, Roles.LocationManager, ["katy"]), new { voicemail = false }))
            await ProblemAssert.Is(elsewhere, HttpStatusCode.NotFound, "not-found");
        using (var wrongType = await Cluster.SendAsync(HttpMethod.Patch, path, Admin, new { ringSteps = "the store" }))
            await ProblemAssert.Is(wrongType, HttpStatusCode.BadRequest, "validation");
        using (var invalid = await Cluster.SendAsync(HttpMethod.Patch, path, Admin, new { forwardTo = (string?)null, ringSteps = (object?)null }))
            await ProblemAssert.Is(invalid, HttpStatusCode.BadRequest, "validation", "forwardTo");
        var after = await (await Cluster.SendAsync(HttpMethod.Get, path, Admin)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(after.GetProperty("voicemail").GetBoolean());
        Assert.Equal(Store, after.GetProperty("forwardTo").GetString());
    }

    [Fact]
    public async Task A_callers_third_very_short_call_within_a_day_is_spam_and_never_qualifies_and_a_blocked_callers_call_is_spam()
    {
        // A location whose rules count every call, so only spam keeps one out.
        var (_, number) = await LocationWithNumberAsync(new { forwardTo = Store, conversionRules = new { } });
        var caller = $"+1415555{Random.Shared.Next(2000, 9999)}";
        async Task<JsonElement> CallAsync(int seconds, string from)
        {
            var callSid = TwilioCarrier.NewCallSid();
            await PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, number, from));
            await StatusAsync(callSid, seconds);
            return await Carrier.RecordedAsync(callSid, until: c => c.GetProperty("durationSeconds").GetInt32() == seconds);
        }
        (bool Spam, bool Qualified) Judged(JsonElement call) => (call.GetProperty("spam").GetBoolean(), call.GetProperty("qualified").GetBoolean());

        Assert.Equal((false, true), Judged(await CallAsync(4, caller)));
        Assert.Equal((false, true), Judged(await CallAsync(3, caller)));
        Assert.Equal((true, false), Judged(await CallAsync(5, caller)));    // the third under 10 s within 24 h
        Assert.Equal((false, true), Judged(await CallAsync(75, caller)));   // a real conversation is no spam

        // Brand admins set the threshold; bad values are named.
        using (var bad = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/spam-rules", Admin, new { shortCallSeconds = 0, repeatedCalls = 1 }))
        {
            var problem = await ProblemAssert.Is(bad, HttpStatusCode.BadRequest, "validation", "spamRules.shortCallSeconds");
            Assert.True(problem.GetProperty("errors").TryGetProperty("spamRules.repeatedCalls", out _));
        }
        using (var manager = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/spam-rules", Cluster.Token(Tenant, Roles.LocationManager, ["katy"]), new { }))
            await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
        var tenant = await (await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}", Admin)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((10, 3, 24), (tenant.GetProperty("spamRules").GetProperty("shortCallSeconds").GetInt32(),
            tenant.GetProperty("spamRules").GetProperty("repeatedCalls").GetInt32(), tenant.GetProperty("spamRules").GetProperty("withinHours").GetInt32()));

        // A blocked caller is refused and the call, kept, is spam.
        var blocked = $"+1415556{Random.Shared.Next(2000, 9999)}";
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/blocked-callers/{Uri.EscapeDataString(blocked)}", Admin, new { reason = "robocalls" })).EnsureSuccessStatusCode();
        var rejected = "";
        var reject = Xml("""<Reject reason="rejected" />""");
        Assert.Equal(reject, await OnceRoutedAsync(() => PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(rejected = TwilioCarrier.NewCallSid(), number, blocked)),
            answer => answer == reject));
        Assert.Equal((true, false), Judged(await Carrier.RecordedAsync(rejected)));
    }

    [Fact]
    public async Task The_answering_report_counts_a_locations_answers_by_step_its_wait_and_its_local_hours_in_the_callers_scope()
    {
        var (location, number) = await LocationWithNumberAsync(new
        {
            ringSteps = new object[] { new { numbers = new[] { Store }, timeoutSeconds = 20 }, new { numbers = new[] { Desk1 }, timeoutSeconds = 30 } },
            voicemail = true,
        });
        // Answered at step 1 after 10 s; at step 2 after 25 s; nobody, and the caller leaves a message.
        async Task<string> CallAsync(int? answeredAt, int talk, int length)
        {
            var callSid = TwilioCarrier.NewCallSid();
            await PostAsync("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, number, Caller));
            for (var step = 1; step < (answeredAt ?? 3); step++)
                await PostAsync($"/v1/voice/twilio/dial-action?step={step}&route=open", DialResult(callSid, number, "no-answer"));
            if (answeredAt is { } k)
            {
                await StatusAsync(callSid, talk, leg: "dialed", step: k);
                await PostAsync($"/v1/voice/twilio/dial-action?step={k}&route=open", DialResult(callSid, number, "completed", talk));
            }
            else
                await PostAsync("/v1/voice/twilio/voicemail", new Dictionary<string, string>
                {
                    ["AccountSid"] = AccountSid, ["CallSid"] = callSid, ["RecordingUrl"] = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE9",
                    ["RecordingDuration"] = "9",
                });
            await StatusAsync(callSid, length);
            // Every delivery applied, not just the caller's end: with two silos the answer or the message may come later.
            await Carrier.RecordedAsync(callSid, until: c => c.GetProperty("durationSeconds").GetInt32() == length && c.GetProperty("endedAt").ValueKind != JsonValueKind.Null
                && c.GetProperty("answered").GetBoolean() == (answeredAt is not null) && c.GetProperty("voicemail").GetBoolean() == (answeredAt is null));
            return callSid;
        }
        var first = await CallAsync(1, talk: 50, length: 60);
        await CallAsync(2, talk: 40, length: 65);
        await CallAsync(null, talk: 0, length: 70);

        async Task<JsonElement> Report(string token, HttpStatusCode expected = HttpStatusCode.OK)
        {
            using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/answering?location={location}", token);
            Assert.Equal(expected, response.StatusCode);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }
        var report = await Report(Admin);
        var totals = report.GetProperty("totals");
        Assert.Equal((3L, 2L, 1L, 1L, 0L), (totals.GetProperty("calls").GetInt64(), totals.GetProperty("answered").GetInt64(),
            totals.GetProperty("missed").GetInt64(), totals.GetProperty("voicemails").GetInt64(), totals.GetProperty("afterHours").GetInt64()));
        Assert.Equal((0.6667m, 17.5m, 0m), (totals.GetProperty("answerRate").GetDecimal(), totals.GetProperty("avgRingSeconds").GetDecimal(),
            totals.GetProperty("afterHoursShare").GetDecimal()));
        Assert.Equal("""{"1":1,"2":1}""", totals.GetProperty("answeredByStep").GetRawText());
        Assert.Equal(location, Assert.Single(report.GetProperty("locations").EnumerateArray()).GetProperty("location").GetString());
        // The hours are the location's own (America/Chicago): the first call's hour holds it.
        var startedAt = (await Carrier.RecordedAsync(first)).GetProperty("startedAt").GetDateTime();
        var local = TimeZoneInfo.ConvertTimeFromUtc(startedAt.ToUniversalTime(), TimeZoneInfo.FindSystemTimeZoneById("America/Chicago"));
        var hours = report.GetProperty("hours").EnumerateArray().ToList();
        Assert.Equal(3, hours.Sum(h => h.GetProperty("measures").GetProperty("calls").GetInt64()));
        Assert.Contains(hours, h => h.GetProperty("weekday").GetString() == local.DayOfWeek.ToString()[..3].ToLowerInvariant()
                                    && h.GetProperty("hour").GetInt32() == local.Hour);

        // Its manager sees the same; another location's manager does not see it.
        Assert.Equal(totals.GetRawText(), (await Report(Cluster.Token(Tenant, Roles.LocationManager, [location]))).GetProperty("totals").GetRawText());
        await Report(Cluster.Token(Tenant, Roles.LocationManager, ["katy"]), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Bad_ring_steps_are_named_and_change_nothing()
    {
        var (id, _) = await LocationWithNumberAsync(new { forwardTo = Store });
        var path = $"/v1/tenants/{Tenant}/locations/{id}";
        var before = await (await Cluster.SendAsync(HttpMethod.Get, path, Admin)).Content.ReadFromJsonAsync<JsonElement>();

        var body = JsonSerializer.SerializeToNode(before)!.AsObject();
        foreach (var readOnly in new[] { "id", "tenant", "updatedAt" }) body.Remove(readOnly);
        body["forwardTo"] = null;
        body["ringSteps"] = JsonSerializer.SerializeToNode(new object[]
        {
            new { numbers = new[] { "call the store" }, timeoutSeconds = 20 }, new { numbers = new[] { Desk1 }, timeoutSeconds = 3 },
            new { numbers = Array.Empty<string>() },
        });
        body["whisper"] = new string('x', 201);
        using (var bad = await Cluster.SendAsync(HttpMethod.Put, path, Admin, body))
        {
            var problem = await ProblemAssert.Is(bad, HttpStatusCode.BadRequest, "validation", "ringSteps[0].numbers[0]");
            var fields = problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
            Assert.Contains("ringSteps[1].timeoutSeconds", fields);
            Assert.Contains("ringSteps[2].numbers", fields);
            Assert.Contains("whisper", fields);
        }
        body["ringSteps"] = null;
        body["whisper"] = null;
        using (var noRoute = await Cluster.SendAsync(HttpMethod.Put, path, Admin, body))
            await ProblemAssert.Is(noRoute, HttpStatusCode.BadRequest, "validation", "forwardTo");
        var after = await (await Cluster.SendAsync(HttpMethod.Get, path, Admin)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(before.GetRawText(), after.GetRawText());
    }
}
