using System.Diagnostics;
using System.Runtime.InteropServices;
using CallMesh.Silo.Database;
using CallMesh.Tests.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace CallMesh.Tests.Database;

/// <summary>
/// `pg-writeback`, which `./callmesh up` runs beside its PostgreSQL: the pages of a table file that grew start for the
/// disk within a second, where Linux alone would hold them for 30 s and then write them in one burst. The files live on
/// the checkout's disk, not in a tmpfs, and Linux's page cache tells how much of them is still dirty: per file with
/// cachestat (Linux 6.5), or on older kernels (Debian 12's own is 6.1) in all of /proc/meminfo's "Dirty:", which the
/// test's larger growth there outweighs.
/// </summary>
public sealed class PostgresWritebackTests : IDisposable
{
    private static readonly bool PerFile = CacheStatDirtyBytes(AppContext.BaseDirectory + "CallMesh.Tests.dll") is not null;

    // Per file: under 16 MB, so the kernel does not write it on its own even on a host with vm.dirty_background_bytes set.
    // System-wide: enough that what other processes dirty meanwhile cannot hide it.
    private static readonly int GrowthBytes = (PerFile ? 8 : 64) * 1024 * 1024;

    private readonly string _data = Path.Combine(AppContext.BaseDirectory, "pg-writeback-" + Guid.NewGuid().ToString("N"));
    private string Table => Path.Combine(_data, "base", "5", "16384");
    private string Wal => Path.Combine(_data, "pg_wal", "000000010000000000000001");

    public PostgresWritebackTests()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Table)!);
        Directory.CreateDirectory(Path.GetDirectoryName(Wal)!);
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task A_pass_starts_writing_the_table_files_that_changed_and_only_those()
    {
        Grow(Wal);
        var before = Grow(Table);
        Assert.True(Dirty(Table) - before >= GrowthBytes * 3L / 4, "the new table pages are dirty before the pass");

        var writeback = new PostgresWriteback(_data);
        Assert.Equal(1, writeback.StartWritingChanged());   // the table, not the WAL beside it
        await WrittenAsync(Table, before, "the table's pages were written");
        if (PerFile) Assert.True(Dirty(Wal) > 0, "the WAL is PostgreSQL's own to flush");

        Assert.Equal(0, writeback.StartWritingChanged());   // nothing changed since
        Grow(Table);
        Assert.Equal(1, writeback.StartWritingChanged());
        File.Delete(Table);
        Assert.Equal(0, writeback.StartWritingChanged());   // a dropped table is no error
    }

    [Fact]
    public async Task The_command_that_callmesh_up_starts_writes_a_growing_table_within_seconds()
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [Repo.SiloDll, "pg-writeback", _data]) { RedirectStandardError = true })!;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1));   // the first pass, over an empty directory
            var before = Grow(Table);   // the command may well start on it while it grows

            await WrittenAsync(Table, before, "the running command wrote the table's pages");
            Assert.False(process.HasExited, "the command stopped");
        }
        finally
        {
            process.Kill();
        }
    }

    [Fact]
    public async Task The_command_refuses_a_directory_that_is_not_a_data_directory()
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [Repo.SiloDll, "pg-writeback", Path.Combine(_data, "missing")])
            { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("usage: CallMesh.Silo pg-writeback DATADIR", error);
    }

    /// <summary>Appends without any flush, as PostgreSQL extends a table; returns what was dirty before.</summary>
    private static long Grow(string path)
    {
        var before = Dirty(path);
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write);
        file.Write(new byte[GrowthBytes].AsSpan());
        return before;
    }

    /// <summary>Waits until no more than a quarter of what was grown is still dirty (per file: none of it).</summary>
    private static Task WrittenAsync(string path, long before, string what) =>
        Until(() => PerFile ? Dirty(path) == 0 : Dirty(path) <= before + GrowthBytes / 4, what);

    private static long Dirty(string path) => !PerFile ? SystemDirtyBytes() : File.Exists(path) ? CacheStatDirtyBytes(path)!.Value : 0;

    private static long SystemDirtyBytes() =>
        long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("Dirty:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;

    /// <summary>Waits up to 10 s: a third of the 30 s that Linux would hold the pages alone.</summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"within 10 s: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>The file's dirty bytes in the page cache (Linux 6.5's cachestat), or null on a kernel without it.</summary>
    private static long? CacheStatDirtyBytes(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var range = new CacheStatRange(0, 0);   // length 0: to the end of the file
        if (syscall(CacheStatSyscall, handle, ref range, out var stat, 0) == 0) return (long)stat.Dirty * Environment.SystemPageSize;
        var errno = Marshal.GetLastPInvokeError();
        Assert.True(errno == NoSuchSyscall, $"cachestat failed: errno {errno}");
        return null;
    }

    private const long CacheStatSyscall = 451;   // the same number on every architecture
    private const int NoSuchSyscall = 38;        // ENOSYS

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct CacheStatRange(ulong Offset, ulong Length);

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct CacheStat(ulong Cache, ulong Dirty, ulong Writeback, ulong Evicted, ulong RecentlyEvicted);

    [DllImport("libc", SetLastError = true)]
    private static extern long syscall(long number, SafeFileHandle fd, ref CacheStatRange range, out CacheStat stat, uint flags);
}
