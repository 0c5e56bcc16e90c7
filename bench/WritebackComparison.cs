using Npgsql;

namespace CallMesh.Bench;

/// <summary>
/// <c>--scenarios writeback</c>: does pg-writeback (silo/Database/PostgresWriteback.cs) still earn its place? The same
/// open-loop DNI load, long enough for the kernel's 30 s writeback to come round twice, first beside pg-writeback, then
/// without it and with PostgreSQL's own flush settings in its place: backend_flush_after (0 by default) on top of the
/// bgwriter, checkpointer and WAL writer flushes that are on by default, and checkpoints spaced by time (./callmesh up).
/// A production PostgreSQL has those settings and no pg-writeback, so the second row is what it would see.
/// </summary>
public sealed class WritebackComparison(NpgsqlDataSource db, string script)
{
    /// <summary>The settings PostgreSQL offers for starting its own writes early (applied with a reload, no restart).</summary>
    private static readonly (string Name, string Value)[] FlushSettings =
    [
        ("backend_flush_after", "256kB"), ("bgwriter_flush_after", "512kB"), ("checkpoint_flush_after", "256kB"), ("wal_writer_flush_after", "1MB"),
    ];

    /// <summary>pg-writeback on, PostgreSQL's flush settings as the server came; or off, with them set.</summary>
    public async Task UseAsync(bool writeback)
    {
        await RunScriptAsync("writeback", writeback ? "start" : "stop");
        foreach (var (name, value) in FlushSettings)
            await ExecuteAsync(writeback ? $"ALTER SYSTEM RESET {name}" : $"ALTER SYSTEM SET {name} = '{value}'");
        await ExecuteAsync("SELECT pg_reload_conf()");
        await Task.Delay(1000);   // the reload reaches every backend at its next statement
    }

    /// <summary>Back to how ./callmesh up runs: pg-writeback on, the server's own settings.</summary>
    public Task RestoreAsync() => UseAsync(writeback: true);

    /// <summary>The most dirty page cache (Linux's "Dirty:", MB) seen while <paramref name="phase"/> runs, read every 200 ms.</summary>
    public static async Task<(T Result, double PeakDirtyMb)> WatchDirtyAsync<T>(Func<Task<T>> phase)
    {
        using var stop = new CancellationTokenSource();
        var peak = 0.0;
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, DirtyMb());
                try { await Task.Delay(200, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var result = await phase();
        stop.Cancel();
        await watcher;
        return (result, peak);
    }

    private static double DirtyMb()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("Dirty:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return 0;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = db.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private Task RunScriptAsync(params string[] args) => CallmeshScript.RunAsync(script, args);
}
