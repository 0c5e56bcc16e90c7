namespace CallMesh.Bench;

/// <summary>
/// CPU time per process over a phase, read from /proc. The generator, the gateway, the silos and PostgreSQL share this
/// machine's cores, so a request costs what all four spend on it, and the ratio of two phases is bounded by those costs.
/// It finds the services through the pid files `./callmesh up` writes; on a
/// machine without /proc it reports nothing.
/// </summary>
public sealed class ProcessCpu(string state)
{
    // /proc gives CPU times in USER_HZ ticks, which Linux fixes at 100 a second for user space.
    private const double TicksPerSecond = 100;

    private sealed record Sample(long Generator, long Gateway, long Silos, long Postgres, long Idle, DateTime At);

    /// <summary>Runs a phase and adds to its measurement what each process spent per answered request.</summary>
    public async Task<Measurement> Around(Func<Task<Measurement>> phase)
    {
        var start = Take();
        var measured = await phase();
        var end = Take();
        if (start is null || end is null || measured.Requests == 0) return measured;
        double PerRequest(long ticks) => ticks / TicksPerSecond * 1e6 / measured.Requests;
        return measured with
        {
            Cpu = Describe(start, end, measured.Requests),
            CpuPerRequest = (PerRequest(end.Gateway - start.Gateway), PerRequest(end.Silos - start.Silos), PerRequest(end.Postgres - start.Postgres)),
        };
    }

    private static string Describe(Sample start, Sample end, int requests)
    {
        double PerRequest(long ticks) => ticks / TicksPerSecond * 1e6 / requests;
        var (generator, gateway, silos, postgres) = (PerRequest(end.Generator - start.Generator), PerRequest(end.Gateway - start.Gateway),
            PerRequest(end.Silos - start.Silos), PerRequest(end.Postgres - start.Postgres));
        var idle = (end.Idle - start.Idle) / TicksPerSecond * 1000 / (end.At - start.At).TotalSeconds;
        return $"CPU per request: generator {generator:F0}, gateway {gateway:F0}, silo {silos:F0}, PostgreSQL {postgres:F0} µs " +
               $"({generator + gateway + silos + postgres:F0} µs in all); idle {idle:F0} ms a second of {Environment.ProcessorCount * 1000}";
    }

    private Sample? Take()
    {
        if (!File.Exists("/proc/stat")) return null;
        var at = DateTime.UtcNow;
        var idle = long.Parse(File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[4]);
        var silos = Directory.Exists(Path.Combine(state, "pids"))
            ? Directory.GetFiles(Path.Combine(state, "pids"), "silo-*.pid").Sum(f => Ticks(PidIn(f)))
            : 0;
        var postgres = PostgresTicks(PidIn(Path.Combine(state, "pg", "postmaster.pid")));
        return new Sample(Ticks(Environment.ProcessId), Ticks(PidIn(Path.Combine(state, "pids", "gateway.pid"))), silos, postgres,
            idle, at);
    }

    private static int? PidIn(string file) =>
        File.Exists(file) && int.TryParse(File.ReadLines(file).FirstOrDefault(), out var pid) ? pid : null;

    /// <summary>The postmaster and its children (backends, WAL writer, checkpointer), plus the backends that already exited.</summary>
    private static long PostgresTicks(int? postmaster)
    {
        if (postmaster is null) return 0;
        var total = Ticks(postmaster, withReapedChildren: true);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var pid) && Stat(pid) is { } fields && fields[1] == postmaster.ToString())
                total += long.Parse(fields[11]) + long.Parse(fields[12]);
        return total;
    }

    private static long Ticks(int? pid, bool withReapedChildren = false)
    {
        if (pid is null || Stat(pid.Value) is not { } fields) return 0;
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);                            // utime, stime
        return withReapedChildren ? ticks + long.Parse(fields[13]) + long.Parse(fields[14]) : ticks;   // cutime, cstime
    }

    /// <summary>The fields of /proc/PID/stat after the command name (which may hold spaces): [0] is the state, [1] the parent.</summary>
    private static string[]? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The silos' resident memory, from the pid files `./callmesh up` writes.</summary>
    public static long SiloMemory(string state) =>
        Directory.GetFiles(Path.Combine(state, "pids"), "silo-*.pid").Sum(file =>
        {
            var pid = File.ReadLines(file).FirstOrDefault();
            var status = $"/proc/{pid}/status";
            var line = File.Exists(status) ? File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:")) : null;
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        });
}
