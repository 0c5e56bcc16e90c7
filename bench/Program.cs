using System.Collections.Concurrent;
using System.Net;
using System.Runtime;
using System.Text.Json;
using CallMesh.Bench;
using Npgsql;

// ./callmesh bench [--seconds 10] [--warmup 15] [--settle 5] [--workers 64] [--scenarios dni,inbound,report] [--timeline true] [--dni-rate N] [--probe-ms 10]
//   [--scenarios abuse [--abuse-seconds 60]]
//   [--scenarios history [--history-calls 10000000] [--history-locations 1000]]
//   [--scenarios outbound [--outbound-rate 150]]   (with CALLMESH_OUTBOUND__ALLOWPRIVATENETWORKS=true ./callmesh up)
//   [--scenarios attribution [--attribution-rate 2] [--attribution-seconds 240] [--attribution-learning 180] [--attribution-call-share 0.6] [--attribution-seed 7]]
// — against the cluster `./callmesh up` started.
var options = args.Chunk(2).Where(p => p.Length == 2).ToDictionary(p => p[0].TrimStart('-'), p => p[1]);
var state = options.GetValueOrDefault("state") ?? ".callmesh";
var endpoints = JsonDocument.Parse(File.ReadAllText(Path.Combine(state, "endpoints.json"))).RootElement;
var gateway = new Uri(endpoints.GetProperty("gateway").GetString()!);
var postgres = endpoints.GetProperty("postgres").GetString()!;
var key = File.ReadAllText(Path.Combine(state, "dev-signing-key")).Trim();
var duration = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("seconds") ?? "10"));
// Each scenario's first seconds on a fresh silo are spent JIT-compiling its paths (tiered compilation took about a
// fifth of the silo's CPU for the first 10 s of DNI load): measure the steady state that a running silo is in.
var warmUp = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("warmup") ?? "15"));
var settle = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("settle") ?? "5"));
var workers = int.Parse(options.GetValueOrDefault("workers") ?? "64");
var scenarios = (options.GetValueOrDefault("scenarios") ?? "dni,inbound,report").Split(',');
var timeline = options.GetValueOrDefault("timeline") == "true";
var probeEvery = TimeSpan.FromMilliseconds(double.Parse(options.GetValueOrDefault("probe-ms") ?? "10"));   // 0: no probe
// The DNI steady phase runs at half the peak just measured, which varies from run to run with it; a fixed rate lets two
// builds be compared at the same load.
var dniRate = options.TryGetValue("dni-rate", out var rateText) ? double.Parse(rateText) : (double?)null;
// Where each measured phase's CPU went, per request: the four processes share the cores, so this bounds the ratios.
// (In an open-loop phase PostgreSQL's figure includes the commit probe's 200 queries a second.)
var cpu = new ProcessCpu(state);

using var connections = new SocketsHttpHandler { MaxConnectionsPerServer = workers * 2, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
// The bench is many users: each API request comes from an address of its own (./callmesh up trusts the loopback's
// X-Forwarded-For), as the gateway limits each address to a few hundred requests a minute.
using var http = new HttpClient(new ManyClients { InnerHandler = connections }, disposeHandler: false) { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(10) };
// DNI requests carry what Chrome sends with the swap script's fetch from a brand's page (a cross-site, no-preflight
// POST): the gateway and the silo parse and forward these headers, check the Origin and choose an encoding.
using var browser = new HttpClient(connections, disposeHandler: false) { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(10) };
foreach (var (name, value) in new[]
{
    ("sec-ch-ua", "\"Chromium\";v=\"130\", \"Google Chrome\";v=\"130\", \"Not?A_Brand\";v=\"99\""),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", "\"Windows\""),
    ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"),
    ("Accept", "*/*"),
    ("Origin", "https://bench.example"),
    ("Sec-Fetch-Site", "cross-site"),
    ("Sec-Fetch-Mode", "cors"),
    ("Sec-Fetch-Dest", "empty"),
    ("Referer", "https://bench.example/"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Accept-Language", "en-US,en;q=0.9"),
    ("Priority", "u=1, i"),
})
    browser.DefaultRequestHeaders.TryAddWithoutValidation(name, value);

Console.WriteLine($"CallMesh bench: {Environment.ProcessorCount} cores, {workers} workers, {duration.TotalSeconds:F0} s per phase, gateway {gateway}");
var seed = await BenchTenant.SeedAsync(http, key);
Console.WriteLine($"seeded tenant {seed.Tenant}: {seed.Sites.Count} sites, {seed.Targets.Count} locations with pools of {BenchTenant.PoolSize} numbers");

await using var db = NpgsqlDataSource.Create(postgres);
// As pgbench does before each run: every run adds tens of thousands of rows to these tables, and autovacuum
// starting on them in the middle of a phase takes one of the machine's two cores away from what is measured.
{
    var vacuumed = System.Diagnostics.Stopwatch.StartNew();
    await using var vacuum = db.CreateCommand(
        "VACUUM (ANALYZE) callmesh.dni_sessions, callmesh.touchpoints, callmesh.number_leases, callmesh.tracking_numbers, callmesh.calls");
    vacuum.CommandTimeout = 600;
    await vacuum.ExecuteNonQueryAsync();
    Console.WriteLine($"vacuumed the DNI and call tables in {vacuumed.Elapsed.TotalSeconds:F1} s");
    // What a call and a lease cost depends on how much the database already holds (their keys' pages in memory or not):
    // the same build wrote a call's new row in 0.18 ms on a fresh database and in 0.46-0.87 ms beside 1.5 million calls. Counted
    // by the statistics the vacuum just refreshed: counting the rows would read them into memory first.
    await using var size = db.CreateCommand(
        """
        SELECT (SELECT sum(greatest(c.reltuples, 0))::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'callmesh.calls'::regclass),
               (SELECT reltuples::bigint FROM pg_class WHERE oid = 'callmesh.tracking_numbers'::regclass),
               (SELECT reltuples::bigint FROM pg_class WHERE oid = 'callmesh.number_leases'::regclass), pg_database_size(current_database())
        """);
    await using var held = await size.ExecuteReaderAsync();
    await held.ReadAsync();
    Console.WriteLine($"the database holds {held.GetInt64(0):N0} calls, {held.GetInt64(1):N0} tracking numbers and {held.GetInt64(2):N0} leases " +
                      $"({held.GetInt64(3) / (1 << 20):N0} MB); compare runs on databases of about the same size");
}

// noop: a trivial silo endpoint through the gateway, the ceiling of this stack on this machine.
Task<bool> Noop() => http.GetAsync("/v1/ping").ContinueWith(t => { using var r = t.Result; return r.StatusCode == HttpStatusCode.OK; });

// dni, three kinds of request in equal parts, as the swap script sends them:
// - a new visitor's first page view;
// - a returning visitor's new session (a later visit: visitor id, no session id);
// - a returning session: a page of another location in the same visit, so the script asks for the number it holds
//   and a new one (visitor and session ids, two targets).
// Whatever returns must get back the number it was given for its first target while that lease lives.
var seen = new ConcurrentQueue<Visit>();
var answered = new ConcurrentQueue<(Guid Visitor, string Number)>();   // every new-visitor allocation a client was told
var kinds = new int[3];
var numberChanged = 0;
// The generator shares the 2 cores and its GC pauses count as request latency in the open-loop phase (they showed up
// as 5-20 ms pauses each second): bodies are written straight to UTF-8, answers read into a small record, and what it
// keeps per visit is ids and indexes.
var sitePaths = seed.Sites.Select(site => $"/v1/dni/sessions?siteKey={site}").ToArray();
var landingUrls = Enumerable.Range(0, 20).Select(c => $"https://bench.example/locations/x?utm_source=google&utm_medium=cpc&utm_campaign=c{c}").ToArray();
async Task<bool> Dni()
{
    var kind = Random.Shared.Next(3);
    Visit? back = null;
    if (kind > 0 && !seen.TryDequeue(out back)) kind = 0;
    var site = back?.Site ?? Random.Shared.Next(seed.Sites.Count);
    var target = back?.Target ?? Random.Shared.Next(seed.Targets.Count);
    var body = new System.Buffers.ArrayBufferWriter<byte>(512);
    using (var json = new Utf8JsonWriter(body))
    {
        json.WriteStartObject();
        json.WriteString("siteKey", seed.Sites[site]);
        if (back is not null) json.WriteString("visitorId", back.Visitor);
        if (kind == 2) json.WriteString("sessionId", back!.Session);
        json.WriteString("url", landingUrls[Random.Shared.Next(landingUrls.Length)]);
        json.WriteStartArray("targets");
        json.WriteStringValue(seed.Targets[target]);
        if (kind == 2) json.WriteStringValue(seed.Targets[(target + 1) % seed.Targets.Count]);
        json.WriteEndArray();
        json.WriteEndObject();
    }
    using var request = new HttpRequestMessage(HttpMethod.Post, sitePaths[site]) { Content = new ReadOnlyMemoryContent(body.WrittenMemory) };
    request.Content.Headers.TryAddWithoutValidation("Content-Type", "text/plain; charset=utf-8");
    request.Headers.TryAddWithoutValidation("X-Forwarded-For", $"10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}");
    using var response = await browser.SendAsync(request);
    if (response.StatusCode != HttpStatusCode.OK) return false;
    var answer = JsonSerializer.Deserialize<DniAnswer>(await response.Content.ReadAsByteArrayAsync(), JsonSerializerOptions.Web);
    if (answer?.Swaps.Count != (kind == 2 ? 2 : 1)) return false;
    var (number, overflow) = (answer.Swaps[0].Number, answer.Swaps[0].Overflow);
    if (back is null) answered.Enqueue((answer.VisitorId, number));
    else if (!back.Overflow && !overflow && number != back.Number) Interlocked.Increment(ref numberChanged);
    Interlocked.Increment(ref kinds[kind]);
    // The number this visit holds: the first one it was given, unless that was the overflow number.
    var holds = back is { Overflow: false } ? back : null;
    seen.Enqueue(new Visit(answer.VisitorId, answer.SessionId, site, target, holds?.Number ?? number, holds?.Overflow ?? overflow));
    return true;
}

// An open-loop phase with a CommitProbe beside it, so a slow second can be told to be the disk's flush or the CPU.
// The phase before it ran the stack flat out; the open-loop phase first runs a few seconds at its own rate, not counted,
// so that it measures that rate and not the backlog the peak left (its first second had a p50 of 13-24 ms otherwise).
// The probe starts before the settle: its own start-up made the measured phase's first second the slowest.
async Task<Measurement> Steady(string name, double rate, Func<Task<bool>> request, TimeSpan? length = null)
{
    var probe = probeEvery > TimeSpan.Zero ? new CommitProbe(db, probeEvery) : null;
    await LoadRunner.OpenLoop("settle", rate, settle, request);
    // The generator stands in for thousands of browsers, so its own GC pauses are not the system's latency: its gen1
    // pauses (11-18 ms, three in a 10 s phase) delayed every request in flight. The measured phase runs in a no-GC
    // region (it allocates under 7 KB a request); if it allocates more, a collection ends the region and we say so.
    var noGc = TryStartNoGcRegion();
    probe?.BeginPhase();
    var measured = await cpu.Around(() => LoadRunner.OpenLoop(name, rate, length ?? duration, request));
    // The probe stops with the phase: once a sample taken after it read as a 99.9 ms commit that no second of the phase
    // had (most likely the generator's first collection after its no-GC region, which pauses the probe's timing too).
    if (probe is not null) await probe.DisposeAsync();
    var noGcHeld = GCSettings.LatencyMode == GCLatencyMode.NoGCRegion;
    if (noGcHeld) GC.EndNoGCRegion();
    Console.WriteLine(measured);
    Console.WriteLine($"  the generator's own lag, scheduled to sent: p50 {measured.SendLag.P50:F2} ms, p99 {measured.SendLag.P99:F2} ms (counted in the latencies)");
    if (!noGcHeld) Console.WriteLine($"  the generator collected garbage during this phase ({(noGc ? "its no-GC region ran out" : "no no-GC region")}): its pauses are in the figures");
    if (timeline)
        for (var second = 0; second < measured.PerSecond.Count; second++)
        {
            var (p50, p99, max) = measured.PerSecond[second];
            var (roundTrip, commit) = probe?.Slowest(second) ?? (double.NaN, double.NaN);
            Console.WriteLine($"  second {second,3}: p50 {p50,7:F2}  p99 {p99,7:F2}  max {max,7:F2} ms   probe: round trip {roundTrip,6:F1}  commit {commit,6:F1} ms");
        }
    if (probe is null) return measured;
    var slowest = probe.Slowest();
    Console.WriteLine(probe.Problem is null
        ? $"  probe beside the load (every {probeEvery.TotalMilliseconds:F0} ms): slowest PostgreSQL round trip {slowest.RoundTripMs:F1} ms, slowest durable commit {slowest.CommitMs:F1} ms"
        : $"  commit probe failed: {probe.Problem}");
    return measured;
}

await LoadRunner.ClosedLoop("warm-up", workers, warmUp, Noop);
var noop = await cpu.Around(() => LoadRunner.ClosedLoop("noop (peak)", workers, duration, Noop));
Console.WriteLine(noop);
var failed = false;

if (scenarios.Contains("dni"))
{
    await LoadRunner.ClosedLoop("warm-up", workers, warmUp, Dni);
    var dni = await cpu.Around(() => LoadRunner.ClosedLoop("dni (peak)", workers, duration, Dni));
    Console.WriteLine(dni);
    var halfRate = dniRate ?? dni.Throughput / 2;
    var half = await Steady(dniRate is null ? $"dni at half peak ({halfRate:F0}/s)" : $"dni at a fixed {halfRate:F0}/s", halfRate, Dni);

    // Every allocation a client was answered must be in the lease history: the same visitor and number.
    await using var rows = db.CreateCommand("SELECT visitor_id, number FROM callmesh.number_leases WHERE tenant_id = $1");
    rows.Parameters.Add(new() { Value = seed.Tenant });
    var journaled = new HashSet<(Guid, string)>();
    await using (var reader = await rows.ExecuteReaderAsync())
        while (await reader.ReadAsync()) journaled.Add((reader.GetGuid(0), reader.GetString(1)));
    var missing = answered.Count(a => !journaled.Contains(a));
    Console.WriteLine();
    Console.WriteLine($"dni / noop throughput: {dni.Throughput / noop.Throughput:F2} (target ≥ 0.60)");
    Console.WriteLine(dniRate is null
        ? $"dni p99 at half peak:  {half.P99Ms:F2} ms (target < 20 ms)"
        : $"dni p99 at {halfRate:F0}/s: {half.P99Ms:F2} ms (half of this run's peak: {dni.Throughput / 2:F0}/s)");
    Console.WriteLine($"requests: {kinds[0]} new visitors, {kinds[1]} returning visitors, {kinds[2]} returning sessions");
    Console.WriteLine($"durable: {answered.Count - missing} of {answered.Count} answered new-visitor allocations found in callmesh.number_leases" +
                      (missing == 0 ? "" : $" — {missing} MISSING"));
    Console.WriteLine($"returning visitors and sessions given another number than the one they hold: {numberChanged}");
    failed |= missing > 0 || numberChanged > 0;
}

if (scenarios.Contains("inbound"))
{
    // inbound: a signed carrier webhook answered with TwiML (timed), then the dial result and the status callback (not timed).
    var calls = new InboundCalls(http, seed);
    await calls.RegisterAccountAsync(key);
    await LoadRunner.ClosedLoop("warm-up", workers, warmUp, calls.Call);
    await calls.CheckCompletedAsync(db);   // the warm-up's calls written first: the peak pays for its own alone
    // The peak times only the answers: recording follows behind them (silo/Calls/CallJournal.cs), so the flat-out phase
    // leaves calls still to be written. The steady phase starts once they are, so it measures its own calls alone; the
    // peak's CPU is given for the phase and, over the same calls, with the writing that followed it.
    Measurement peak = null!;
    var (recordedAtPeak, answeredAtPeak, drainSeconds) = (0, 0, 0.0);
    var peakWritten = await cpu.Around(async () =>
    {
        peak = await cpu.Around(() => LoadRunner.ClosedLoop("inbound (peak)", workers, duration, calls.Call));
        var drained = System.Diagnostics.Stopwatch.StartNew();
        (recordedAtPeak, answeredAtPeak) = await calls.CheckCompletedAsync(db);
        drainSeconds = drained.Elapsed.TotalSeconds;
        return peak;
    });
    Console.WriteLine(peak);
    Console.WriteLine($"  recorded behind the answers: {recordedAtPeak} of {answeredAtPeak}, all written {drainSeconds:F1} s after the phase");
    Console.WriteLine($"  with that writing, {peakWritten.Cpu}");
    var at200 = await Steady("inbound at 200 calls/s", 200, calls.Call);
    // The same request rate with nothing behind it (a call is three webhooks): what waking every process 600 times a
    // second costs on this machine, which the peak phases spread over many requests at once.
    var noopAt600 = await Steady("noop at 600 req/s", 600, Noop);
    var (completed, total) = await calls.CheckCompletedAsync(db);
    Console.WriteLine();
    Console.WriteLine($"inbound / noop throughput: {peak.Throughput / noop.Throughput:F2}");
    Console.WriteLine($"inbound TwiML p99 at 200 calls/s: {at200.P99Ms:F2} ms (target < 25 ms)");
    if (at200.CpuPerRequest is { } call && noopAt600.CpuPerRequest is { } noopCpu)
        Console.WriteLine($"silo + PostgreSQL CPU per call at 200 calls/s: {(call.Silos + call.Postgres) / 1000:F2} ms; three no-op requests at the same " +
                          $"rate: {3 * (noopCpu.Silos + noopCpu.Postgres) / 1000:F2} ms; the difference, what a call adds: " +
                          $"{(call.Silos + call.Postgres - 3 * (noopCpu.Silos + noopCpu.Postgres)) / 1000:F2} ms (silo {(call.Silos - 3 * noopCpu.Silos) / 1000:F2}, " +
                          $"PostgreSQL {(call.Postgres - 3 * noopCpu.Postgres) / 1000:F2})");
    Console.WriteLine($"calls recorded, answered and completed by their callbacks: {completed} of {total}" + (completed == total ? "" : " — MISSING") +
                      (calls.RefusedCallbacks.Count == 0 ? "" : $"; callbacks refused: {string.Join(", ", calls.RefusedCallbacks.Select(r => $"{r.Key} ×{r.Value}"))}"));
    failed |= completed != total;
}
if (scenarios.Contains("outbound"))
{
    // outbound: a webhook on every event type, its cost per inbound call and the outbox's drain rate (docs/outbound.md).
    var calls = new InboundCalls(http, seed);
    await calls.RegisterAccountAsync(key);
    await LoadRunner.ClosedLoop("warm-up", workers, warmUp, calls.Call);
    var outbound = new OutboundScenario(http, calls, db, seed.Tenant, key,
        double.Parse(options.GetValueOrDefault("outbound-rate") ?? "150"), duration, (name, rate, request) => Steady(name, rate, request));
    failed |= !await outbound.RunAsync();
}
if (scenarios.Contains("report"))
{
    // report: the brand-wide locations report over 90 days of a 1,000-location brand, warm, against SQL GROUP BY.
    // Its own client: a first run seeds a million calls and rebuilds their rollups through a job, which takes minutes.
    using var reportHttp = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(5) };
    var report = new ReportScenario(reportHttp, postgres, key);
    var last = await report.SeedAsync();
    var (from, to) = (last.AddDays(-89), last);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var fromGrains = await report.ReportAsync(from, to);
    Console.WriteLine($"report: first brand report of this run in {clock.Elapsed.TotalMilliseconds:F0} ms " +
                      "(cold when the silos just started: PostgreSQL reads the bucket rows from disk)");
    for (var i = 0; i < 20; i++) await report.ReportAsync(from, to);   // JIT tiering and caches settle

    async Task<List<double>> Time(int runs, Func<Task> run)
    {
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await run();
            times.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return times;
    }
    double P(List<double> times, double q) => LoadRunner.Percentile([.. times.Order()], q);

    var grainTimes = await Time(100, async () => fromGrains = await report.ReportAsync(from, to));
    // A new 90-day window each time: no rollup has the answer cached, every one sums its days again.
    var shift = 0;
    var missTimes = await Time(100, async () => { shift++; await report.ReportAsync(from.AddDays(-shift), to.AddDays(-shift)); });
    var fromSql = await ReportScenario.SqlReportAsync(db, from, to);
    var sqlTimes = await Time(20, async () => fromSql = await ReportScenario.SqlReportAsync(db, from, to));
    var differing = fromSql.Keys.Union(fromGrains.Keys).Count(k => fromSql.GetValueOrDefault(k) != fromGrains.GetValueOrDefault(k));
    var calls = fromGrains.Values.Sum(v => v.Calls);
    Console.WriteLine();
    Console.WriteLine($"report over {fromGrains.Count - 1:N0} locations and {calls:N0} calls ({from:yyyy-MM-dd}..{to:yyyy-MM-dd}):");
    Console.WriteLine($"  rollups via the gateway:       p50 {P(grainTimes, 0.5):F1} ms, p95 {P(grainTimes, 0.95):F1} ms (target p95 < 100 ms)");
    Console.WriteLine($"  …a new window each time:       p50 {P(missTimes, 0.5):F1} ms, p95 {P(missTimes, 0.95):F1} ms (other rows each time)");
    Console.WriteLine($"  SQL GROUP BY over callmesh.calls:  p50 {P(sqlTimes, 0.5):F1} ms, p95 {P(sqlTimes, 0.95):F1} ms");
    Console.WriteLine($"  SQL p95 / rollup p95: {P(sqlTimes, 0.95) / P(grainTimes, 0.95):F1}x");
    Console.WriteLine($"  rows that differ between the two (calls, revenue, spend): {differing}" + (differing == 0 ? "" : " — MISMATCH"));
    failed |= differing > 0;
}
if (scenarios.Contains("attribution"))
{
    // attribution: precision and recall of call attribution against known truth, late callers included (docs/attribution.md).
    var attribution = new AttributionScenario(http, browser, key, db, new AttributionScenario.Settings(
        double.Parse(options.GetValueOrDefault("attribution-rate") ?? "2"),
        TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("attribution-seconds") ?? "240")),
        TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("attribution-learning") ?? "180")),
        double.Parse(options.GetValueOrDefault("attribution-call-share") ?? "0.6"),
        int.Parse(options.GetValueOrDefault("attribution-seed") ?? "7")));
    failed |= !await attribution.RunAsync();
}
if (scenarios.Contains("history"))
{
    // history: years of calls at constant cost — reports, inserts, lookups and silo memory at a tenth and at all of it.
    using var historyHttp = new HttpClient(new ManyClients { InnerHandler = connections }, disposeHandler: false)
    { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(5) };
    await new HistoryScenario(historyHttp, postgres, key, state, long.Parse(options.GetValueOrDefault("history-calls") ?? "10000000"),
        int.Parse(options.GetValueOrDefault("history-locations") ?? "1000")).RunAsync();
}
if (scenarios.Contains("abuse"))
{
    // abuse: an anonymous DNI flood against bounded caches, per-address limits and pool caps (docs/security.md).
    var abuse = new AbuseScenario(browser, http, key, state, TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("abuse-seconds") ?? "60")));
    failed |= !await abuse.RunAsync();
}
if (scenarios.Contains("chaos"))
{
    // chaos: the faults a cluster meets (kill -9, PostgreSQL stopped, rolling restart, every silo down) under load.
    var silos = endpoints.GetProperty("silos").GetArrayLength();
    if (silos < 2)
    {
        Console.WriteLine("chaos: needs two or more silos (./callmesh up --silos 3); skipped");
        failed = true;
    }
    else
    {
        var calls = new InboundCalls(http, seed);
        await calls.RegisterAccountAsync(key);
        var script = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(state))!, "callmesh");
        var chaos = new ChaosScenario(http, seed, calls, db, script, silos, new NpgsqlConnectionStringBuilder(postgres).Port);
        failed |= !await chaos.RunAsync();
    }
}

return failed ? 1 : 0;

static bool TryStartNoGcRegion()
{
    try { return GC.TryStartNoGCRegion(240L << 20); }
    catch (ArgumentOutOfRangeException) { return false; }   // larger than this runtime allows
}

internal sealed record Visit(Guid Visitor, Guid Session, int Site, int Target, string Number, bool Overflow);

internal sealed record DniAnswer(Guid VisitorId, Guid SessionId, List<DniSwap> Swaps);

internal sealed record DniSwap(string Number, bool Overflow);

/// <summary>Gives a request that names no client address a random one of 10.0.0.0/8.</summary>
internal sealed class ManyClients : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Headers.Contains("X-Forwarded-For"))
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", $"10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}");
        return base.SendAsync(request, cancellationToken);
    }
}
