using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using CallMesh.Carriers;
using CallMesh.Identity;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace CallMesh.Tests.Api;

/// <summary>
/// Calls ring through a PostgreSQL outage and a silo killed with calls it had not yet written: every answered call is
/// recorded once after recovery, from the killed silo's journal too. On a server of the test's own, stopped for real.
/// </summary>
[Collection(ProcessTests.Name)]
public sealed class CallsAlwaysRingTests(TestDatabase db, ITestOutputHelper output) : IClassFixture<TestDatabase>
{
    private const string Tenant = "bluebonnet";
    private const string AustinGbp = "+15125550180";                                     // Austin's static GBP number
    private static readonly string[] AustinPhones = ["+17375550101", "+15125550199"];   // its forward and after-hours numbers

    [Fact]
    public async Task Calls_ring_while_PostgreSQL_is_down_and_a_silo_is_killed_and_are_all_recorded_once_after()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        // Journal segments of 4 KB instead of 8 MB: the outage's deliveries fill several, and the replay crosses them.
        await using var cluster = await ProcessCluster.StartAsync(postgres.ConnectionString, silos: 2,
            siloSettings: new() { ["CALLMESH_JOURNAL_SEGMENT_BYTES"] = "4096" });
        var carrier = await SeedAsync(cluster);
        await UntilSilosRouteWithAsync(cluster, await Scalar<long>(postgres.ConnectionString, "SELECT last_value FROM callmesh.routing_version"));

        await postgres.StopAsync();

        // Through the gateway, to both silos: every call is answered with its location's numbers, every callback taken.
        var calls = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var sid = TwilioCarrier.NewCallSid();
            calls.Add(sid);
            using var inbound = await carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(sid, AustinGbp));
            AssertRingsAustin(inbound, await inbound.Content.ReadAsStringAsync());
            await carrier.CompleteAsync(sid, talkSeconds: 70 + i, waitApplied: false);   // the database is down
        }

        // DNI cannot make a lease durable: a 503 to retry later (the script keeps the page's own numbers), never a 500.
        using (var session = await cluster.DniSessionAsync("http://localhost/locations/katy", ["+17135550116"]))
        {
            await ProblemAssert.Is(session, HttpStatusCode.ServiceUnavailable, "temporarily-unavailable");
            Assert.NotNull(session.Headers.RetryAfter);
        }
        using (var list = await cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls", cluster.Token(Tenant, Roles.BrandAdmin)))
            await ProblemAssert.Is(list, HttpStatusCode.ServiceUnavailable, "temporarily-unavailable");
        // Degraded, not unready: the gateway keeps both silos in rotation.
        using (var ready = await cluster.Http.GetAsync("/health/ready"))
            Assert.Equal(2, (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("healthySilos").GetInt32());

        // Straight to silo 2, which is then killed before the database is back: its journal holds these calls.
        var direct = new List<string>();
        using (var silo2 = new HttpClient { BaseAddress = cluster.SiloUrls[1] })
            for (var i = 0; i < 5; i++)
            {
                var sid = TwilioCarrier.NewCallSid();
                direct.Add(sid);
                using var inbound = await silo2.SendAsync(TwilioSignature.SignedRequest(TwilioCarrier.AuthToken, cluster.SiloUrls[1],
                    "/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(sid, AustinGbp)));
                AssertRingsAustin(inbound, await inbound.Content.ReadAsStringAsync());
            }
        cluster.Kill(cluster.Silos[1]);
        await cluster.Silos[1].WaitForExitAsync();
        var written = WrittenSegments(cluster.JournalDirectory(1));
        output.WriteLine($"silo 2 wrote {written.Length} journal segments before it was killed");
        Assert.True(written.Length >= 3, $"{written.Length} journal segments written");

        await postgres.StartAsync();
        cluster.Restart(1);
        await cluster.WaitReadyAsync();

        // Every answered call is recorded once, with the callbacks that came during the outage applied.
        var all = calls.Concat(direct).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<(string Id, string Status, int Talk, string Route)> rows;
        // Both legs' callbacks of a call may sit in different silos' journals: wait for every one of them.
        bool Settled(List<(string Id, string Status, int Talk, string Route)> found) =>
            found.Count == all.Length && calls.Select((sid, i) => (sid, i)).All(c => found.Any(r => r.Id == c.sid && r.Status == "completed" && r.Talk == 70 + c.i));
        while (!Settled(rows = await Rows(postgres.ConnectionString, all)) && DateTime.UtcNow < deadline) await Task.Delay(250);
        output.WriteLine($"{rows.Count} of {all.Length} calls recorded, {rows.Count(r => r.Status == "completed")} completed");
        Assert.Equal(all.Order(), rows.Select(r => r.Id).Order());
        Assert.All(rows.Where(r => calls.Contains(r.Id)), r => Assert.Equal("completed", r.Status));
        Assert.Equal(calls.Select((_, i) => 70 + i), rows.Where(r => calls.Contains(r.Id)).OrderBy(r => calls.IndexOf(r.Id)).Select(r => r.Talk));
        Assert.All(rows, r => Assert.Contains(r.Route, new[] { "open", "after-hours" }));

        // Once all they held is in PostgreSQL, the segments from before the kill are deleted at the journal's next turn.
        using (var silo2 = new HttpClient { BaseAddress = cluster.SiloUrls[1] })
            for (var i = 0; i < 20; i++)
            {
                using var inbound = await silo2.SendAsync(TwilioSignature.SignedRequest(TwilioCarrier.AuthToken, cluster.SiloUrls[1],
                    "/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), AustinGbp)));
                Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
            }
        await Until(() => Task.FromResult(!written.Any(File.Exists)));
    }

    /// <summary>The journal's segment files that hold at least one line (a prepared segment is all zeros).</summary>
    private static string[] WrittenSegments(string directory) =>
        [.. Directory.GetFiles(directory, "calls-*.jsonl").Where(f => { using var file = File.OpenRead(f); return file.ReadByte() is > 0; })];

    [Fact]
    public async Task With_every_silo_down_the_gateways_fail_safe_URL_rings_the_location_and_the_call_is_recorded_after()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(postgres.ConnectionString, silos: 2);
        var carrier = await SeedAsync(cluster);
        // The gateway's copy of the routing facts must be one the silos read after the account was saved.
        var registered = await Scalar<long>(postgres.ConnectionString, "SELECT last_value FROM callmesh.routing_version");
        await Until(async () =>
        {
            using var ready = await cluster.Http.GetAsync("/health/ready");
            var version = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("failSafeRoutingVersion");
            return version.ValueKind == JsonValueKind.Number && version.GetInt64() >= registered;
        });

        foreach (var silo in cluster.Silos) cluster.Kill(silo);
        foreach (var silo in cluster.Silos) await silo.WaitForExitAsync();
        var callSid = TwilioCarrier.NewCallSid();
        var form = TwilioCarrier.InboundForm(callSid, AustinGbp);
        form["ErrorCode"] = "11200";   // what Twilio adds when the primary URL failed
        using (var unsigned = await cluster.SendAsync(HttpMethod.Post, "/v1/voice/twilio/fallback", null, new FormUrlEncodedContent(form)))
            await ProblemAssert.Is(unsigned, HttpStatusCode.Forbidden, "invalid-signature");
        string dialAction;
        using (var answer = await carrier.Webhook("/v1/voice/twilio/fallback", form))
        {
            var twiml = await answer.Content.ReadAsStringAsync();
            AssertRingsAustin(answer, twiml);
            dialAction = System.Xml.Linq.XDocument.Parse(twiml).Root!.Element("Dial")!.Attribute("action")!.Value;
        }
        // Nobody picks up at Austin: the dial result, which no silo can take, is answered by the gateway too (Austin has one
        // step and no voicemail: a goodbye, not the carrier's error).
        var noAnswer = new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioCarrier.AccountSid, ["CallSid"] = callSid, ["From"] = form["From"], ["To"] = AustinGbp,
            ["DialCallStatus"] = "no-answer", ["DialCallDuration"] = "0",
        };
        using (var result = await carrier.Webhook(new Uri(dialAction).PathAndQuery, noAnswer))
        {
            Assert.Equal(HttpStatusCode.OK, result.StatusCode);
            Assert.Equal($"""<?xml version="1.0" encoding="utf-8"?><Response><Say>{TwiML.Goodbye}</Say><Hangup /></Response>""",
                await result.Content.ReadAsStringAsync());
        }
        using (var forged = await carrier.Webhook(new Uri(dialAction).PathAndQuery, noAnswer, token: "not-the-token"))
            Assert.NotEqual(HttpStatusCode.OK, forged.StatusCode);
        // Once its probes find no silo, Degraded, not unready: the load balancer keeps sending the carrier here.
        await Until(async () =>
        {
            using var ready = await cluster.Http.GetAsync("/health/ready");
            return ready.StatusCode == HttpStatusCode.OK
                   && (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString() == "Degraded";
        });

        cluster.Restart(0);
        cluster.Restart(1);
        await cluster.WaitReadyAsync();
        List<(string Id, string Status, int Talk, string Route)> rows = [];
        await Until(async () => (rows = await Rows(postgres.ConnectionString, [callSid])).Count == 1);
        Assert.Contains(rows.Single().Route, new[] { "open", "after-hours" });
    }

    [Fact]
    public async Task A_rolling_restart_of_every_silo_under_calls_DNI_and_reads_fails_no_request()
    {
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 2);
        var carrier = await SeedAsync(cluster);
        await UnderLoadFailingNothingAsync(cluster, carrier, async () =>
        {
            for (var i = 0; i < cluster.Silos.Count; i++)
            {
                await cluster.StopGracefullyAsync(i);
                cluster.Restart(i);
                await cluster.WaitReadyAsync();
            }
        });
    }

    /// <summary>
    /// Two gateways behind a load balancer (as a Kubernetes Service puts them), restarted one at a time: each drains (unready,
    /// <c>Connection: close</c> on every answer) before it stops, so clients' connections move to the other.
    /// </summary>
    [Fact]
    public async Task A_rolling_restart_of_the_gateways_behind_a_load_balancer_fails_no_request()
    {
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 1);
        cluster.AddGateway();
        await cluster.WaitReadyAsync();
        cluster.UseBalancer();
        var carrier = await SeedAsync(cluster);
        await UnderLoadFailingNothingAsync(cluster, carrier, async () =>
        {
            for (var i = 0; i < cluster.Gateways.Count; i++)
            {
                var stopped = ProcessCluster.StopGracefullyAsync(cluster.Gateways[i]);
                using var probe = new HttpClient();
                await Until(async () => (await probe.GetAsync(new Uri(cluster.GatewayUrls[i], "/health/ready"))).StatusCode == HttpStatusCode.ServiceUnavailable);
                await stopped;
                cluster.RestartGateway(i);
                await cluster.WaitReadyAsync();
                await Task.Delay(TimeSpan.FromSeconds(1.5));   // the balancer's probe sees it back before the next one stops
            }
        });
    }

    /// <summary>
    /// Three clients each make a signed call, a new visitor's DNI page view and a brand admin's read every 50 ms while
    /// <paramref name="faults"/> run, and a second after: no request may fail, and every answered call is one row.
    /// </summary>
    private async Task UnderLoadFailingNothingAsync(ProcessCluster cluster, TwilioCarrier carrier, Func<Task> faults)
    {
        var admin = cluster.Token(Tenant, Roles.BrandAdmin);
        var calls = new System.Collections.Concurrent.ConcurrentBag<string>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var requests = 0;
        using var stop = new CancellationTokenSource();
        async Task Client(int worker)
        {
            while (!stop.IsCancellationRequested)
            {
                Interlocked.Add(ref requests, 3);
                var sid = TwilioCarrier.NewCallSid();
                await Expect("inbound", () => carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(sid, AustinGbp)));
                calls.Add(sid);
                await Expect("dni", () => cluster.DniSessionAsync($"http://localhost/locations/katy?w={worker}", ["+17135550116"],
                    clientIp: $"10.{worker}.{requests / 250 % 250}.{requests % 250}"));   // many browsers: under the per-address limit
                await Expect("locations", () => cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations", admin));
                await Task.Delay(50);
            }
        }
        async Task Expect(string what, Func<Task<HttpResponseMessage>> send)
        {
            try
            {
                using var response = await send();
                if (!response.IsSuccessStatusCode) failures.Add($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            catch (HttpRequestException e)
            {
                failures.Add($"{what}: {e.Message}");
            }
        }

        var load = Task.WhenAll(Enumerable.Range(0, 3).Select(Client));
        await faults();
        await Task.Delay(1000);
        await stop.CancelAsync();
        await load;

        output.WriteLine($"{requests} requests, {failures.Count} failed: {string.Join("; ", failures.Take(5))}");
        Assert.Empty(failures);
        var all = calls.ToArray();
        List<(string Id, string Status, int Talk, string Route)> rows = [];
        await Until(async () => (rows = await Rows(db.ConnectionString, all)).Count == all.Length);
        Assert.Equal(all.Length, rows.Select(r => r.Id).Distinct().Count());
    }

    /// <summary>The demo brand, with the test carrier's account: the carrier that plays the calls.</summary>
    private static async Task<TwilioCarrier> SeedAsync(ProcessCluster cluster)
    {
        await DemoSeeder.SeedAsync(cluster.Http, cluster.SigningKeyHex, Repo.DemoBrandFile);
        var carrier = new TwilioCarrier(cluster);
        await carrier.RegisterAsync(Tenant, cluster.Token(Tenant, Roles.BrandAdmin));
        return carrier;
    }

    private static async Task Until(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "not within 60 s");
            await Task.Delay(250);
        }
    }

    private static void AssertRingsAustin(HttpResponseMessage response, string body)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
        var number = XDocument.Parse(body).Root!.Element("Dial")?.Element("Number")?.Value;
        Assert.Contains(number, AustinPhones);
    }

    /// <summary>Until every silo's routing snapshot is at least <paramref name="version"/> (it has the carrier account).</summary>
    private static async Task UntilSilosRouteWithAsync(ProcessCluster cluster, long version)
    {
        using var http = new HttpClient();
        await Until(async () =>
        {
            foreach (var silo in cluster.SiloUrls)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(silo, "/internal/routing"));
                request.Headers.Add("X-CallMesh-Internal-Key", cluster.InternalKey);
                using var response = await http.SendAsync(request);
                if (!response.IsSuccessStatusCode || long.Parse(response.Headers.ETag!.Tag.Trim('"')) < version) return false;
            }
            return true;
        });
    }

    private static async Task<T> Scalar<T>(string postgres, string sql)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<(string, string, int, string)>> Rows(string postgres, string[] callIds)
    {
        try
        {
            await using var connection = new NpgsqlConnection(postgres);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT call_id, status, talk_seconds, route FROM callmesh.calls WHERE call_id = ANY($1)", connection);
            command.Parameters.Add(new() { Value = callIds });
            var rows = new List<(string, string, int, string)>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3)));
            return rows;
        }
        catch (NpgsqlException)
        {
            return [];   // still starting
        }
    }
}
