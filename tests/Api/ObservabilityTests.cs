using System.Net;
using System.Text;
using System.Text.Json;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Deployment;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>A silo and the gateway exporting traces to a collector (OTLP/HTTP) and serving /metrics on a management port.</summary>
public sealed class ObservabilityFixture : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();
    public OtlpReceiver Collector { get; private set; } = null!;
    public ProcessCluster Cluster { get; private set; } = null!;
    public int SiloManagementPort { get; } = Ports.Free();
    public int GatewayManagementPort { get; } = Ports.Free();

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        Collector = await OtlpReceiver.StartAsync();
        var silo = Collector.ExporterSettings();
        silo["CALLMESH_MANAGEMENT_PORT"] = SiloManagementPort.ToString();
        silo["CALLMESH_LOG_FORMAT"] = "json";
        silo["CALLMESH_OUTBOUND__ALLOWPRIVATENETWORKS"] = "true";   // the webhook below is on loopback
        var gateway = Collector.ExporterSettings();
        gateway["CALLMESH_MANAGEMENT_PORT"] = GatewayManagementPort.ToString();
        gateway["CALLMESH_LOG_FORMAT"] = "json";
        Cluster = await ProcessCluster.StartAsync(Database.ConnectionString, silos: 1, gatewaySettings: gateway, siloSettings: silo);
        await DemoSeeder.SeedAsync(Cluster.Http, Cluster.SigningKeyHex, Repo.DemoBrandFile);
        var admin = Cluster.Token("bluebonnet", Identity.Roles.BrandAdmin);
        await new TwilioCarrier(Cluster).RegisterAsync("bluebonnet", admin);
        // A destination whose receiver answers 404: every call's delivery fails, which the metrics count.
        using var destination = await Cluster.SendAsync(HttpMethod.Post, "/v1/tenants/bluebonnet/destinations", admin,
            new { kind = "webhook", name = "missing", url = $"{Collector.Endpoint}/hooks", events = new[] { "call.started" } });
        Assert.Equal(HttpStatusCode.Created, destination.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Collector.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>One trace per request across gateway, silo, grains and PostgreSQL; metrics; JSON logs.</summary>
[Collection(ProcessTests.Name)]
public sealed class ObservabilityTests(ObservabilityFixture fixture, ManifestTools tools) : IClassFixture<ObservabilityFixture>, IClassFixture<ManifestTools>
{
    private const string AustinGbp = "+15125550180";
    private const string Caller = "+14155550177";
    private const int Server = 2;

    private ProcessCluster Cluster => fixture.Cluster;

    /// <summary>Every span's parent is in the trace but the root's, and the root is the gateway's request.</summary>
    private static bool Connected(List<ReceivedSpan> trace)
    {
        var ids = trace.Select(s => s.SpanId).ToHashSet();
        var roots = trace.Where(s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId)).ToList();
        return roots is [{ Service: "callmesh-gateway", Kind: Server, ParentSpanId: null }];
    }

    private static bool Has(List<ReceivedSpan> trace, string service, Func<ReceivedSpan, bool> span) =>
        trace.Any(s => s.Service == service && span(s));

    [Fact]
    public async Task A_DNI_request_is_one_trace_from_the_gateway_through_the_silo_and_its_grains_to_PostgreSQL()
    {
        var url = $"http://localhost/locations/austin-downtown?trace={Guid.NewGuid():N}";
        using (var response = await Cluster.DniSessionAsync(url, ["+15125550101"], origin: "http://localhost"))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var trace = await fixture.Collector.TraceAsync(t =>
            Has(t, "callmesh-gateway", s => s.Kind == Server && s.Attributes.GetValueOrDefault("url.path") == "/v1/dni/sessions")
            && Has(t, "callmesh-silo", s => s.Kind == Server && s.Attributes.GetValueOrDefault("http.route") == "/v1/dni/sessions")
            && Has(t, "callmesh-silo", s => s.Scope == "Microsoft.Orleans.Application" && s.Name.Contains("VisitorGrain"))
            && Has(t, "callmesh-silo", s => s.Name == "callmesh.dni.journal.write")
            && Has(t, "callmesh-silo", s => s.Scope == "Npgsql")
            && Connected(t));

        // The statements are the journal's, inside its span: the lease's commit is part of the request.
        var journal = trace.Single(s => s.Name == "callmesh.dni.journal.write");
        Assert.Contains(trace, s => s.Scope == "Npgsql" && s.ParentSpanId == journal.SpanId);
    }

    [Fact]
    public async Task A_carrier_webhook_is_one_trace_with_the_call_recorded_behind_the_answer()
    {
        var carrier = new TwilioCarrier(Cluster);
        var callSid = TwilioCarrier.NewCallSid();
        using (var response = await carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, AustinGbp, Caller)))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var trace = await fixture.Collector.TraceAsync(t =>
            Has(t, "callmesh-gateway", s => s.Kind == Server && s.Attributes.GetValueOrDefault("url.path") == "/v1/voice/twilio/inbound")
            && Has(t, "callmesh-silo", s => s.Kind == Server)
            && Has(t, "callmesh-silo", s => s.Name == "callmesh.call.record")
            && Has(t, "callmesh-silo", s => s.Scope == "Microsoft.Orleans.Application" && s.Name.Contains("CallGrain"))
            && Has(t, "callmesh-silo", s => s.Scope == "Npgsql")
            && Connected(t));
        // No span carries the caller's number.
        Assert.DoesNotContain(trace, s => s.Attributes.Values.Any(v => v.Contains(Caller[1..])) || s.Name.Contains(Caller[1..]));
    }

    [Fact]
    public async Task A_burst_of_configuration_changes_reloads_the_routing_snapshot_a_few_times_and_then_no_more()
    {
        using var http = new HttpClient();
        // Whole reloads and those of the changed numbers alone, together.
        async Task<long> Reloads() =>
            System.Text.RegularExpressions.Regex.Matches(await http.GetStringAsync($"http://127.0.0.1:{fixture.SiloManagementPort}/metrics"),
                @"callmesh_routing_reloads_total(\{[^}]*\})? (\d+)").Sum(m => long.Parse(m.Groups[2].Value));
        var admin = fixture.Cluster.Token("bluebonnet", Identity.Roles.BrandAdmin);
        var before = await Reloads();

        // 25 commits, each notifying every silo; a set-up or a bulk edit looks like this.
        for (var i = 0; i < 25; i++)
        {
            using var patched = await fixture.Cluster.SendAsync(HttpMethod.Patch, "/v1/tenants/bluebonnet/locations/cedar-park", admin,
                new { whisper = $"Call for Cedar Park ({i})" });
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }
        await Task.Delay(TimeSpan.FromSeconds(5));
        var afterBurst = await Reloads();
        await Task.Delay(TimeSpan.FromSeconds(4));

        // One reload a second while changes come, none once they stopped (before the fix every queued notice cost a reload
        // of its own, one a second for 25 s).
        Assert.InRange(afterBurst - before, 1, 8);
        Assert.Equal(afterBurst, await Reloads());
    }

    [Fact]
    public async Task A_reload_reads_only_the_numbers_changed_since_the_last_one_and_a_change_that_forgets_its_time_is_stamped()
    {
        using var http = new HttpClient();
        async Task<(long Reloads, long Read)> Incremental()
        {
            var metrics = await http.GetStringAsync($"http://127.0.0.1:{fixture.SiloManagementPort}/metrics");
            long Value(string name) => System.Text.RegularExpressions.Regex.Match(metrics, name + @"_total\{[^}]*whole=""false""[^}]*\} (\d+)")
                is { Success: true } m ? long.Parse(m.Groups[1].Value) : 0;
            return (Value("callmesh_routing_reloads"), Value("callmesh_routing_numbers_read"));
        }
        // Every number last changed an hour ago, as in a brand set up long before; the reload this causes reads none of them.
        var numbers = await fixture.Database.Scalar<int>(
            "WITH changed AS (UPDATE callmesh.tracking_numbers SET updated_at = now() - interval '1 hour' RETURNING 1) SELECT count(*)::int FROM changed");
        Assert.True(numbers > 20, $"{numbers} numbers");
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var before = await Incremental();

        // One number changed by a statement that does not say when: stamped now, so the next reloads read it and only it.
        await fixture.Database.Scalar<int>($"WITH changed AS (UPDATE callmesh.tracking_numbers SET campaign = 'spring' WHERE number = '{AustinGbp}' RETURNING 1) SELECT count(*)::int FROM changed");
        var admin = fixture.Cluster.Token("bluebonnet", Identity.Roles.BrandAdmin);
        using (var patched = await fixture.Cluster.SendAsync(HttpMethod.Patch, "/v1/tenants/bluebonnet/locations/cedar-park", admin, new { whisper = "Cedar Park" }))
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        (long Reloads, long Read) after;
        while ((after = await Incremental()).Read == before.Read && DateTime.UtcNow < deadline) await Task.Delay(200);

        Assert.True(after.Reloads > before.Reloads, "no reload after the changes");
        // Each reload since reads the one changed number (it is read again while within the margin), never all of them.
        Assert.InRange(after.Read - before.Read, 1, after.Reloads - before.Reloads);
        Assert.Equal("spring", await fixture.Database.Scalar<string>($"SELECT campaign FROM callmesh.tracking_numbers WHERE number = '{AustinGbp}' AND updated_at > now() - interval '1 minute'"));
    }

    [Fact]
    public async Task Metrics_are_served_on_the_management_port_only()
    {
        await SomethingToCountAsync();

        using var http = new HttpClient();
        var silo = "";
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); !silo.Contains("callmesh_outbound_deliveries_total"); await Task.Delay(250))
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(15), "no delivery was counted");
            silo = await http.GetStringAsync($"http://127.0.0.1:{fixture.SiloManagementPort}/metrics");
        }
        Assert.Matches(@"callmesh_dni_leases_total\{[^}]*result=""granted""[^}]*\} [1-9]", silo);
        Assert.Matches(@"callmesh_voice_answer_duration_seconds_count\{[^}]*carrier=""twilio""[^}]*\} [1-9]", silo);
        Assert.Contains("callmesh_call_journal_depth", silo);
        Assert.Contains("callmesh_calls_writer_depth", silo);
        Assert.Matches(@"callmesh_calls_writer_transactions_total(\{[^}]*\})? [1-9]", silo);
        Assert.Contains("callmesh_calls_start_reads_depth", silo);
        Assert.Matches(@"callmesh_calls_start_reads_round_trips_total(\{[^}]*\})? [1-9]", silo);   // the calls above were read
        Assert.Contains("callmesh_dni_journal_depth", silo);
        Assert.Contains("callmesh_outbox_depth", silo);
        Assert.Contains("orleans_", silo);
        Assert.Contains("http_server_request_duration_seconds_bucket", silo);
        Assert.Matches(@"db_client_connection_count\{[^}]*db_client_connection_pool_name=""callmesh""", silo);   // Npgsql's pools, by name

        var gateway = await http.GetStringAsync($"http://127.0.0.1:{fixture.GatewayManagementPort}/metrics");
        // The gateway's routes are its forwarding catch-alls (the silo's metrics name the API's own).
        Assert.Matches(@"http_server_request_duration_seconds_count\{[^}]*http_request_method=""POST"",http_response_status_code=""200"",http_route=""/v1/\{\*\*rest\}""[^}]*\} [1-9]", gateway);

        Assert.Matches(@"callmesh_outbound_deliveries_total\{[^}]*kind=""webhook""[^}]*result=""failed""", silo);
        Assert.Matches(@"callmesh_report_duration_seconds_count\{[^}]*report=""/v1/tenants/\{tenant\}/reports/locations""", silo);

        // And pushed over OTLP to the collector, as a cluster without Prometheus would take them.
        for (var wait = System.Diagnostics.Stopwatch.StartNew();
             !fixture.Collector.MetricExports.Any(e => Encoding.UTF8.GetString(e).Contains("callmesh.dni.leases")); await Task.Delay(250))
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(15), "no OTLP metric export carried callmesh.dni.leases");

        // Not on the public ports: the gateway's nor, through it, a silo's.
        using var exposed = await Cluster.Http.GetAsync("/metrics");
        Assert.DoesNotContain("# TYPE", await exposed.Content.ReadAsStringAsync());
        using var direct = await http.GetAsync(new Uri(Cluster.SiloUrls[0], "/metrics"));
        Assert.DoesNotContain("# TYPE", await direct.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_shipped_alerts_and_dashboard_evaluate_on_Prometheus_scraping_the_services()
    {
        // A counter's first sample is no increase: count things once before Prometheus starts and again while it scrapes.
        await SomethingToCountAsync();
        await using var prometheus = await PrometheusServer.StartAsync(await PrometheusRulesTests.RuleFileAsync(tools),
            (fixture.SiloManagementPort, "silo", "callmesh-silo-0"), (fixture.GatewayManagementPort, "gateway", "callmesh-gateway-0"));
        await prometheus.WaitForAsync("count(up == 1) == 2", "both management ports scraped");
        await prometheus.WaitForAsync("count_over_time(callmesh_dni_leases_total[1m]) > 1", "a second scrape");
        await SomethingToCountAsync();
        foreach (var counter in new[] { "callmesh_dni_leases_total", "callmesh_voice_answer_duration_seconds_count", "callmesh_report_duration_seconds_count",
                     "callmesh_outbound_deliveries_total{result=\"failed\"}" })
            await prometheus.WaitForAsync($"sum(increase({counter}[1m])) > 0", "counted while scraped");

        // Every panel of the shipped dashboard draws from the series the services serve (a renamed metric or label
        // would leave it empty).
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Repo.Root, "k8s", "components", "monitoring", "grafana-dashboard.json")));
        var panels = 0;
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                var expr = target.GetProperty("expr").GetString()!;
                Assert.True((await prometheus.QueryAsync(expr)).GetArrayLength() > 0, $"panel \"{panel.GetProperty("title")}\" has no data: {expr}");
                panels++;
            }
        Assert.True(panels >= 15);

        // Every alert evaluates without error on the real series, and the conditions that hold here are pending: one
        // silo is fewer than two, and every webhook delivery fails (its receiver answers 404); the pool is not exhausted.
        List<JsonElement> rules;
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(250))
        {
            rules = await prometheus.RulesAsync();
            if (rules.Any(r => r.GetProperty("name").GetString() == "CallMeshDeliveriesFailing" && r.GetProperty("state").GetString() == "pending")) break;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(20), "CallMeshDeliveriesFailing never became pending: " + string.Join("\n", rules));
        }
        Assert.All(rules, r => Assert.True(r.GetProperty("health").GetString() == "ok", r.ToString()));
        string State(string alert) => rules.Single(r => r.GetProperty("name").GetString() == alert).GetProperty("state").GetString()!;
        Assert.Equal("pending", State("CallMeshSilosDown"));
        Assert.Equal("webhook", rules.Single(r => r.GetProperty("name").GetString() == "CallMeshDeliveriesFailing")
            .GetProperty("alerts")[0].GetProperty("labels").GetProperty("kind").GetString());
        foreach (var quiet in new[] { "CallMeshPoolExhausted", "CallMeshWebhookAnswerSlow", "CallMeshCallJournalBacklog", "CallMeshOutboxBacklog" })
            Assert.Equal("inactive", State(quiet));
    }

    /// <summary>A lease, an answered call (and its delivery to the failing destination) and a report.</summary>
    private async Task SomethingToCountAsync()
    {
        using (var dni = await Cluster.DniSessionAsync("http://localhost/locations/katy", ["+17135550116"], origin: "http://localhost"))
            Assert.Equal(HttpStatusCode.OK, dni.StatusCode);
        using (var call = await new TwilioCarrier(Cluster).Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), AustinGbp)))
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        using (var report = await Cluster.SendAsync(HttpMethod.Get, "/v1/tenants/bluebonnet/reports/locations",
                   Cluster.Token("bluebonnet", Identity.Roles.BrandAdmin)))
            Assert.Equal(HttpStatusCode.OK, report.StatusCode);
    }

    [Fact]
    public async Task Logs_are_JSON_lines_without_callers_numbers()
    {
        using (var call = await new TwilioCarrier(Cluster).Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), AustinGbp, Caller)))
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        var lines = Cluster.Logs().Split('\n').Where(l => l.StartsWith('{')).ToList();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var entry = JsonDocument.Parse(line).RootElement;
            Assert.True(entry.TryGetProperty("level", out _) && entry.TryGetProperty("message", out _) && entry.TryGetProperty("time", out _), line);
        }
        Assert.DoesNotContain(Caller[1..], Cluster.Logs());
    }
}
