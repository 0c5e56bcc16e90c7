using System.Diagnostics;
using Npgsql;

namespace CallMesh.Bench;

/// <summary>
/// Times one durable commit on its own connection every 10 ms while a phase runs, the wait every DNI journal batch
/// has before its answers go out. A tiny transactional WAL record (pg_logical_emit_message) makes the commit wait for
/// the WAL flush; nothing is stored. Tells a slow second caused by the disk's flush apart from one caused by CPU.
/// </summary>
public sealed class CommitProbe : IAsyncDisposable
{
    private readonly List<(double AtSeconds, double Ms)> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public CommitProbe(NpgsqlDataSource db) => _loop = Task.Run(() => RunAsync(db));

    /// <summary>Why the probe measured nothing (e.g. the role may not write WAL messages), or null.</summary>
    public string? Problem { get; private set; }

    public double MaxMs => _samples.Count == 0 ? double.NaN : _samples.Max(s => s.Ms);

    /// <summary>The slowest commit that started in the given second of the phase.</summary>
    public double MaxMsIn(int second) =>
        _samples.Where(s => (int)s.AtSeconds == second).Select(s => s.Ms).DefaultIfEmpty(double.NaN).Max();

    private async Task RunAsync(NpgsqlDataSource db)
    {
        try
        {
            await using var connection = await db.OpenConnectionAsync();
            await using var commit = new NpgsqlCommand("SELECT pg_logical_emit_message(true, 'callmesh-bench', '')", connection);
            await commit.PrepareAsync();
            while (!_stop.IsCancellationRequested)
            {
                var at = _clock.Elapsed.TotalSeconds;
                var started = Stopwatch.GetTimestamp();
                await commit.ExecuteScalarAsync();
                _samples.Add((at, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
                await Task.Delay(10);
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
