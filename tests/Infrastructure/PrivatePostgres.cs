using System.Diagnostics;
using CallMesh.Silo.Database;
using Npgsql;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of a test's own, made and run by `./callmesh db` from a checkout (the repository's, or a copy of
/// the script elsewhere), so a test can stop and start it without touching the server the other tests share.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _script;

    private PrivatePostgres(string script, string name, int port) => (_script, Name, Port) = (script, name, port);

    public string Name { get; }
    public int Port { get; }
    public string ConnectionString { get; private set; } = "";

    /// <summary>Starts a new server (initdb the first time) with CallMesh's migrations applied.</summary>
    public static async Task<PrivatePostgres> StartAsync(string? script = null, bool migrate = true)
    {
        var server = new PrivatePostgres(script ?? Path.Combine(Repo.Root, "callmesh"), $"pg-{Guid.NewGuid():N}"[..15], Ports.Free());
        await server.StartAsync();
        if (migrate) await Migrator.ApplyAsync(server.ConnectionString);
        return server;
    }

    public async Task StartAsync() =>
        ConnectionString = (await RunAsync("db", "start", Name, Port.ToString())).Trim();

    /// <summary>A fast shutdown: open connections are ended, as when a database host restarts.</summary>
    public async Task StopAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await RunAsync("db", "stop", Name);
    }

    private async Task<string> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("bash", [_script, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"callmesh {string.Join(' ', args)} exited {process.ExitCode}: {await errors}");
        return await output;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        // The cluster's files (or, as root in a checkout PostgreSQL's user cannot enter, the link's target).
        var data = Path.Combine(Path.GetDirectoryName(_script)!, ".callmesh", Name);
        var target = new DirectoryInfo(data).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        foreach (var path in new[] { target, data }.OfType<string>())
        {
            if (Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null) Directory.Delete(path, recursive: true);
            else if (File.Exists(path) || new FileInfo(path).LinkTarget is not null) File.Delete(path);
        }
        File.Delete(data + ".password");
        // The script's per-checkout folder beside the system's data, once empty.
        if (target is not null && Path.GetDirectoryName(target) is { } parent && target != data
            && Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any())
            Directory.Delete(parent);
    }
}
