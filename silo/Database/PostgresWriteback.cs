using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CallMesh.Silo.Database;

/// <summary>
/// `CallMesh.Silo pg-writeback DATADIR`: started by `./callmesh up` beside its private PostgreSQL. Once a second it asks
/// Linux to start writing the table and index files that changed (sync_file_range, SYNC_FILE_RANGE_WRITE: it neither
/// waits nor forces a journal commit).
/// Why: PostgreSQL 15 extends a table by writing zero pages it never flushes itself (its *_flush_after settings cover
/// only buffer writes). Linux keeps a file's dirty pages until the oldest is 30 s old, then writes them all at once:
/// 120–140 MB under DNI load, and every commit waited 30–100 ms behind that burst (docs/bench-dni.md). Written a second's
/// worth at a time, they never pile up. A database host should set vm.dirty_background_bytes instead; this process
/// does the same for one data directory without changing the host.
/// </summary>
public sealed class PostgresWriteback(string dataDirectory)
{
    private const uint SyncFileRangeWrite = 2;

    // Tables and indexes: base/ (each database) and global/ (shared catalogs). The WAL is PostgreSQL's own to flush.
    private readonly string[] _roots = [Path.Combine(dataDirectory, "base"), Path.Combine(dataDirectory, "global")];
    private Dictionary<string, (DateTime Written, long Length)> _seen = new(StringComparer.Ordinal);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 1 || !Directory.Exists(Path.Combine(args[0], "base")))
        {
            Console.Error.WriteLine("usage: CallMesh.Silo pg-writeback DATADIR (a PostgreSQL data directory)");
            return 2;
        }
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();

        var writeback = new PostgresWriteback(args[0]);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do writeback.StartWritingChanged();
            while (await timer.WaitForNextTickAsync(stop.Token));
        }
        catch (OperationCanceledException) { }
        return 0;
    }

    /// <summary>Starts the writeback of every file that changed since the last pass; returns how many it started.</summary>
    public int StartWritingChanged()
    {
        var started = 0;
        // Rebuilt every pass, so a dropped table's files are forgotten.
        var current = new Dictionary<string, (DateTime Written, long Length)>(_seen.Count, StringComparer.Ordinal);
        // PostgreSQL drops files and directories as it goes (a dropped table or database): .NET's listing skips a
        // directory that vanishes under it, and a file that vanished is skipped here.
        foreach (var root in _roots.Where(Directory.Exists))
        {
            foreach (var file in new DirectoryInfo(root).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                try
                {
                    var state = (file.LastWriteTimeUtc, file.Length);
                    current[file.FullName] = state;
                    if (_seen.TryGetValue(file.FullName, out var seen) && seen == state) continue;
                    using var handle = File.OpenHandle(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    if (sync_file_range(handle, 0, 0, SyncFileRangeWrite) == 0) started++;
                }
                catch (IOException) { }
            }
        }
        _seen = current;
        return started;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int sync_file_range(SafeFileHandle fd, long offset, long nbytes, uint flags);
}
