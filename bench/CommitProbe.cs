using System.Diagnostics;
using Npgsql;

namespace CallMesh.Bench;

/// <summary>
/// Every <c>interval</c> (the bench's --probe-ms, 10 ms by default) while a phase runs, times on its own connection a
/// plain round trip (SELECT 1) and a durable commit, the wait every DNI journal batch has before its answers go out. A
/// tiny transactional WAL record (pg_logical_emit_message) makes the commit wait for the WAL flush; nothing is stored.
/// A slow commit beside a fast round trip is the disk's flush; both slow is CPU (the probe waits for a core like
/// everything else).
/// </summary>
public sealed class CommitProbe : IAsyncDisposable
{
    private readonly List<(double AtSeconds, double RoundTripMs, double CommitMs)> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _phaseStart;

    /// <summary>
    /// Starts probing right away, so that its connection and first queries are done before the measured phase begins
    /// (<see cref="BeginPhase"/>): started with the phase, they made its first second the slowest (p99 18-61 ms).
    /// </summary>
    public CommitProbe(NpgsqlDataSource db, TimeSpan interval) => _loop = Task.Run(() => RunAsync(db, interval));

    /// <summary>Counts seconds from now on and leaves out what was probed before (<see cref="Slowest"/>).</summary>
    public void BeginPhase() => Volatile.Write(ref _phaseStart, _clock.Elapsed.TotalSeconds);

    /// <summary>Why the probe measured nothing (e.g. the role may not write WAL messages), or null.</summary>
    public string? Problem { get; private set; }

    /// <summary>The slowest round trip and the slowest commit, over the phase or in one second of it.</summary>
    public (double RoundTripMs, double CommitMs) Slowest(int? second = null)
    {
        var samples = _samples.Where(s => s.AtSeconds >= _phaseStart && (second is null || (int)(s.AtSeconds - _phaseStart) == second)).ToList();
        return samples.Count == 0 ? (double.NaN, double.NaN) : (samples.Max(s => s.RoundTripMs), samples.Max(s => s.CommitMs));
    }

    private async Task RunAsync(NpgsqlDataSource db, TimeSpan interval)
    {
        try
        {
            await using var connection = await db.OpenConnectionAsync();
            await using var roundTrip = new NpgsqlCommand("SELECT 1", connection);
            await using var commit = new NpgsqlCommand("SELECT pg_logical_emit_message(true, 'callmesh-bench', '')", connection);
            await roundTrip.PrepareAsync();
            await commit.PrepareAsync();
            // Untimed once: the first round trip on a connection taken from the pool took 37-105 ms, its own start-up
            // (the requests in those 100 ms answered within 25 ms), and read as a CPU stall in the phase's first second.
            await roundTrip.ExecuteScalarAsync();
            await commit.ExecuteScalarAsync();
            while (!_stop.IsCancellationRequested)
            {
                var at = _clock.Elapsed.TotalSeconds;
                var started = Stopwatch.GetTimestamp();
                await roundTrip.ExecuteScalarAsync();
                var between = Stopwatch.GetTimestamp();
                await commit.ExecuteScalarAsync();
                _samples.Add((at, Stopwatch.GetElapsedTime(started, between).TotalMilliseconds, Stopwatch.GetElapsedTime(between).TotalMilliseconds));
                await Task.Delay(interval);
            }
        }
        catch (PostgresException e) { Problem = e.MessageText; }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
    }
}
