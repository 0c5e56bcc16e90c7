using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace CallMesh.Bench;

/// <summary>
/// <c>--scenarios chaos</c> on a cluster of two or more silos (<c>./callmesh up --silos 3</c>): the faults of
/// docs/calls-always-ring.md under a steady load of calls and DNI page views, each a phase of its own. Afterwards every
/// call a caller was answered must be one row (none lost, none with a callback applied twice). It drives the faults
/// with the script itself (<c>./callmesh silo kill|stop|start N</c>, <c>./callmesh db stop|start pg</c>).
/// </summary>
public sealed class ChaosScenario(HttpClient http, BenchTenant.Seed seed, InboundCalls calls, NpgsqlDataSource db, string script,
    int silos, int pgPort)
{
    private sealed class Phase(string name)
    {
        public string Name { get; } = name;
        public int Requests, Failed, Refused, Answered;
        public ConcurrentBag<string> CallSids { get; } = [];
        public ConcurrentBag<string> Failures { get; } = [];
    }

    public async Task<bool> RunAsync()
    {
        var phases = new List<Phase>
        {
            await UnderLoad("kill -9 one silo", async () =>
            {
                await Script("silo", "kill", $"{silos}");
                await Task.Delay(10_000);
                await Script("silo", "start", $"{silos}");
            }),
            await UnderLoad("PostgreSQL stopped 30 s", async () =>
            {
                await Script("db", "stop", "pg");
                NpgsqlConnection.ClearAllPools();
                await Task.Delay(30_000);
                await Script("db", "start", "pg", $"{pgPort}");
            }),
            await UnderLoad("rolling restart of the silos", async () =>
            {
                for (var i = 1; i <= silos; i++)
                {
                    await Script("silo", "stop", $"{i}");
                    await Script("silo", "start", $"{i}");
                }
            }),
            await AllSilosDown(),
        };

        // Everything answered is recorded once the cluster is whole again (the journals and the gateway hand it over).
        var answered = phases.SelectMany(p => p.CallSids).ToArray();
        var clock = Stopwatch.StartNew();
        var (recorded, doubled) = (0L, 0L);
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            (recorded, doubled) = await CountAsync(answered);
            if (recorded == answered.Length) break;
            await Task.Delay(1000);
        }
        Console.WriteLine();
        Console.WriteLine($"chaos: {silos} silos; every call answered with TwiML recorded {clock.Elapsed.TotalSeconds:F0} s after the last phase");
        Console.WriteLine("| scenario | requests | failed | DNI 503 | calls answered | calls recorded | lost | duplicated |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        var failed = false;
        foreach (var phase in phases)
        {
            var (phaseRecorded, phaseDoubled) = await CountAsync([.. phase.CallSids]);
            Console.WriteLine($"| {phase.Name} | {phase.Requests} | {phase.Failed} | {phase.Refused} | {phase.Answered} | {phaseRecorded} | " +
                              $"{phase.Answered - phaseRecorded} | {phaseDoubled} |");
            failed |= phase.Failed > 0 || phaseRecorded != phase.Answered || phaseDoubled > 0;
            foreach (var failure in phase.Failures.Take(3)) Console.WriteLine($"  e.g. {failure}");
        }
        return !failed;
    }

    /// <summary>Four clients, each a call (with its status callback) and a new visitor's page view every 100 ms, around the fault.</summary>
    private async Task<Phase> UnderLoad(string name, Func<Task> fault)
    {
        var phase = new Phase(name);
        using var stop = new CancellationTokenSource();
        var load = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Client(phase, stop.Token)));
        await Task.Delay(3000);
        await fault();
        await Task.Delay(5000);
        await stop.CancelAsync();
        await load;
        Console.WriteLine($"chaos: {name}: {phase.Requests} requests, {phase.Failed} failed, {phase.Refused} DNI 503");
        return phase;
    }

    private async Task Client(Phase phase, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Interlocked.Add(ref phase.Requests, 2);
            try
            {
                var (answered, sid) = await calls.CallAsync();
                if (answered)
                {
                    Interlocked.Increment(ref phase.Answered);
                    phase.CallSids.Add(sid);
                }
                else Fail(phase, $"call {sid}: not answered with <Dial>");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Fail(phase, $"call: {e.Message}");
            }
            try
            {
                var site = seed.Sites[Random.Shared.Next(seed.Sites.Count)];
                var body = JsonSerializer.Serialize(new { siteKey = site, url = "https://bench.example/locations/x", targets = new[] { seed.Targets[Random.Shared.Next(seed.Targets.Count)] } });
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/dni/sessions?siteKey={site}")
                { Content = new StringContent(body, Encoding.UTF8, "text/plain") };
                request.Headers.Add("X-Forwarded-For", $"10.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}");
                request.Headers.Add("Origin", "https://bench.example");
                using var response = await http.SendAsync(request);
                // While PostgreSQL is down a lease cannot be made durable: 503 with Retry-After is the contract, counted apart.
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable) Interlocked.Increment(ref phase.Refused);
                else if (!response.IsSuccessStatusCode) Fail(phase, $"dni: {(int)response.StatusCode}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Fail(phase, $"dni: {e.Message}");
            }
            await Task.Delay(100, CancellationToken.None);
        }
    }

    private static void Fail(Phase phase, string why)
    {
        Interlocked.Increment(ref phase.Failed);
        phase.Failures.Add(why);
    }

    /// <summary>Every silo killed: the carrier turns to the fallback URL, which the gateway answers alone.</summary>
    private async Task<Phase> AllSilosDown()
    {
        var phase = new Phase("all silos down (fallback URL)");
        for (var i = 1; i <= silos; i++) await Script("silo", "kill", $"{i}");
        await Task.Delay(3000);   // the gateway's probes find no silo
        for (var n = 0; n < 100; n++)
        {
            phase.Requests++;
            var (answered, sid) = await calls.CallAsync("fallback");
            if (!answered) Fail(phase, $"fallback {sid}: not answered with <Dial>");
            else
            {
                phase.Answered++;
                phase.CallSids.Add(sid);
            }
        }
        for (var i = 1; i <= silos; i++) await Script("silo", "start", $"{i}");
        Console.WriteLine($"chaos: {phase.Name}: {phase.Requests} requests, {phase.Failed} failed");
        return phase;
    }

    /// <summary>How many of the calls are rows, and how many of those have a delivery applied twice.</summary>
    private async Task<(long Recorded, long Doubled)> CountAsync(string[] callSids)
    {
        try
        {
            await using var command = db.CreateCommand(
                "SELECT count(*), count(*) FILTER (WHERE cardinality(applied_events) <> (SELECT count(DISTINCT e) FROM unnest(applied_events) e)) " +
                "FROM callmesh.calls WHERE call_id = ANY($1) AND started_at >= $2");
            command.Parameters.Add(new() { Value = callSids });
            command.Parameters.Add(new() { Value = calls.Since });
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
        catch (NpgsqlException)
        {
            return (0, 0);   // PostgreSQL still starting
        }
    }

    private Task Script(params string[] args) => CallmeshScript.RunAsync(script, args);
}
