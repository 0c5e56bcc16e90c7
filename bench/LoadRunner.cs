using System.Diagnostics;

namespace CallMesh.Bench;

public sealed record Measurement(string Name, int Requests, int Failures, double Seconds, double P50Ms, double P99Ms)
{
    public double Throughput => Requests / Seconds;

    /// <summary>An open-loop phase's latencies per second of its schedule (p50, p99, max in ms).</summary>
    public IReadOnlyList<(double P50, double P99, double Max)> PerSecond { get; init; } = [];

    /// <summary>An open-loop phase's own lag, from each request's scheduled time to its send (p50, p99 in ms): part of its latency.</summary>
    public (double P50, double P99) SendLag { get; init; }

    /// <summary>What each process spent on a request in this phase (<see cref="ProcessCpu"/>), when it was measured.</summary>
    public string? Cpu { get; init; }

    /// <summary>The same in µs per request, for comparing two phases.</summary>
    public (double Gateway, double Silos, double Postgres)? CpuPerRequest { get; init; }

    public override string ToString() =>
        $"{Name,-26} {Throughput,9:F0} req/s  p50 {P50Ms,6:F2} ms  p99 {P99Ms,7:F2} ms  ({Requests} ok, {Failures} failed, {Seconds:F1} s)" +
        (Cpu is null ? "" : $"{Environment.NewLine}  {Cpu}");
}

/// <summary>
/// Two ways to load the stack: closed loop (N workers back to back: the peak it sustains) and
/// open loop (requests on a fixed schedule; latency counted from the scheduled time, so a stall
/// is not hidden by the generator waiting for it).
/// </summary>
public static class LoadRunner
{
    public static async Task<Measurement> ClosedLoop(string name, int workers, TimeSpan duration, Func<Task<bool>> request)
    {
        var latencies = new List<double>[workers];
        var failures = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            var mine = latencies[w] = new List<double>(100_000);
            while (clock.Elapsed < duration)
            {
                var start = clock.Elapsed;
                if (await Safe(request)) mine.Add((clock.Elapsed - start).TotalMilliseconds);
                else Interlocked.Increment(ref failures);
            }
        }));
        return Summarize(name, latencies.SelectMany(l => l).ToList(), failures, clock.Elapsed.TotalSeconds);
    }

    public static async Task<Measurement> OpenLoop(string name, double ratePerSecond, TimeSpan duration, Func<Task<bool>> request)
    {
        var total = (int)(ratePerSecond * duration.TotalSeconds);
        var latencies = new double[total];
        var ok = new bool[total];
        var inFlight = new Task[total];
        var lag = new double[total];
        var clock = Stopwatch.StartNew();

        async Task Send(int index, TimeSpan scheduled)
        {
            lag[index] = (clock.Elapsed - scheduled).TotalMilliseconds;
            ok[index] = await Safe(request);
            latencies[index] = (clock.Elapsed - scheduled).TotalMilliseconds;
        }

        // The schedule runs on a thread of its own that wakes every millisecond and sends what is due, each send starting
        // right there. A timer continuation and a Task.Run per request queued behind the answers' work in the thread
        // pool: the generator's own lag was 4-8 ms at p99, counted as every request's latency.
        var allSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var scheduler = new Thread(() =>
        {
            for (var i = 0; i < total; i++)
            {
                var due = TimeSpan.FromSeconds(i / ratePerSecond);
                while (clock.Elapsed < due) Thread.Sleep(1);
                inFlight[i] = Send(i, due);
            }
            allSent.SetResult();
        })
        { IsBackground = true, Name = "open-loop schedule" };
        scheduler.Start();
        await allSent.Task;
        await Task.WhenAll(inFlight);
        // Per second of schedule: shows whether a tail comes from a few stalls (GC, disk flushes) or from everywhere.
        var perSecond = new List<(double, double, double)>();
        for (var second = 0; second * ratePerSecond < total; second++)
        {
            var slice = latencies.Skip((int)(second * ratePerSecond)).Take((int)ratePerSecond).Order().ToList();
            perSecond.Add((Percentile(slice, 0.5), Percentile(slice, 0.99), slice[^1]));
        }
        var answered = latencies.Where((_, i) => ok[i]).ToList();
        var lags = lag.Order().ToList();
        return Summarize(name, answered, total - answered.Count, clock.Elapsed.TotalSeconds) with
        {
            PerSecond = perSecond,
            SendLag = (Percentile(lags, 0.5), Percentile(lags, 0.99)),
        };
    }

    private static async Task<bool> Safe(Func<Task<bool>> request)
    {
        try { return await request(); }
        catch (HttpRequestException) { return false; }
        catch (TaskCanceledException) { return false; }
    }

    private static Measurement Summarize(string name, List<double> latencies, int failures, double seconds)
    {
        latencies.Sort();
        return new Measurement(name, latencies.Count, failures, seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    /// <summary>The <paramref name="q"/> quantile of latencies sorted ascending.</summary>
    public static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
}
