using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Deployment;

/// <summary>
/// `./callmesh image` builds the three images; each image's own entrypoint, user, working directory and environment (its
/// OCI config, as umoci unpacks it) then run from its unpacked root filesystem, mounted read-only, in a mount and PID
/// namespace (unshare + chroot, as a container runtime would without the rest): the migrator migrates a fresh database,
/// the silo becomes ready on it, and the gateway forwards to that silo. Needs root (mmdebstrap, mounts): skipped, saying
/// why, where the machine does not allow it.
/// </summary>
[Collection(Api.ProcessTests.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ImageSmokeTests : IAsyncLifetime
{
    private readonly TestDatabase _db = TestDatabase.WithoutMigrations();   // the migrator image migrates it
    private readonly List<Process> _running = [];
    private readonly List<string> _bundles = [];

    [SkippableFact]
    public async Task Each_image_starts_from_its_root_filesystem_read_only_and_the_three_work_together()
    {
        Skip.IfNot(Environment.UserName == "root", "image builds and namespace mounts need root; this test runs as " + Environment.UserName);
        var (built, output, error) = await Processes.RunAsync(Path.Combine(Repo.Root, "callmesh"), ["image"], Repo.Root);
        Assert.True(built == 0, $"./callmesh image failed:\n{output}\n{error}");
        var layout = Path.Combine(Repo.Root, ".callmesh", "images", "oci");
        var version = System.Text.RegularExpressions.Regex.Match(error, @"oci:\{silo,gateway,migrator\}-([\w.-]+);").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(version), error);

        // The migrator: migrates a fresh database and exits.
        var migrator = await UnpackAsync(layout, $"migrator-{version}");
        var (migrated, log) = await RunToEndAsync(migrator, new() { ["CALLMESH_POSTGRES"] = _db.ConnectionString });
        Assert.True(migrated == 0, log);
        Assert.Contains("applied 0001_orleans_clustering.sql", log);

        // The silo on it, then the gateway in front of it.
        var (siloHttp, siloPort, gatewayPort) = (Ports.Free(), Ports.Free(), Ports.Free());
        var key = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var silo = await UnpackAsync(layout, $"silo-{version}");
        Start(silo, new()
        {
            ["CALLMESH_POSTGRES"] = _db.ConnectionString, ["CALLMESH_HTTP_PORT"] = $"{siloHttp}", ["CALLMESH_SILO_PORT"] = $"{siloPort}",
            ["CALLMESH_LISTEN_ADDRESS"] = "127.0.0.1", ["CALLMESH_SILO_NAME"] = "image-silo", ["CALLMESH_CLUSTER_ID"] = $"image-{siloPort}",
            ["CALLMESH_AUTH__DEVSIGNINGKEYHEX"] = key, ["CALLMESH_MIGRATE_ON_START"] = "false", ["CALLMESH_JOURNAL_DIR"] = "/var/lib/callmesh/journal",
        });
        var gateway = await UnpackAsync(layout, $"gateway-{version}");
        Start(gateway, new()
        {
            ["CALLMESH_GATEWAY_PORT"] = $"{gatewayPort}", ["CALLMESH_LISTEN_ADDRESS"] = "127.0.0.1", ["CALLMESH_SILOS"] = $"http://127.0.0.1:{siloHttp}",
            ["CALLMESH_AUTH__DEVSIGNINGKEYHEX"] = key, ["CALLMESH_GATEWAY_STATE_DIR"] = "/var/lib/callmesh/gateway",
        });

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await UntilAsync(http, $"http://127.0.0.1:{siloHttp}/health/ready", _ => true);
        await UntilAsync(http, $"http://127.0.0.1:{gatewayPort}/health/ready", body => body.GetProperty("healthySilos").GetInt32() == 1);
        Assert.Equal("pong", await http.GetStringAsync($"http://127.0.0.1:{gatewayPort}/v1/ping"));

        // Each image carries its SBOM: the Debian packages and the NuGet packages it runs.
        var sbom = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(silo, "rootfs", "usr", "share", "doc", "callmesh", "sbom.cdx.json"))).RootElement;
        var purls = sbom.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("purl").GetString()!).ToList();
        Assert.Contains(purls, p => p.StartsWith("pkg:deb/debian/libc6@"));
        Assert.Contains(purls, p => p.StartsWith("pkg:nuget/Npgsql@10.0.3"));
        Assert.Contains(purls, p => p.StartsWith("pkg:nuget/Microsoft.Orleans.Runtime@10.4.2"));
    }

    /// <summary>Unpacks an image's tag into a runtime bundle (rootfs + config.json).</summary>
    private async Task<string> UnpackAsync(string layout, string tag)
    {
        var bundle = Path.Combine(Path.GetTempPath(), $"callmesh-image-{Guid.NewGuid():N}");
        _bundles.Add(bundle);
        var (exit, output, error) = await Processes.RunAsync("umoci", ["unpack", "--image", $"{layout}:{tag}", bundle], Repo.Root);
        Assert.True(exit == 0, output + error);
        return bundle;
    }

    /// <summary>
    /// The image's process as its config says (args, env, uid:gid, cwd) plus <paramref name="environment"/>, chrooted into its
    /// root filesystem bound read-only, with only /tmp and /var/lib/callmesh writable (tmpfs, as the manifests' volumes).
    /// </summary>
    private static ProcessStartInfo Command(string bundle, Dictionary<string, string> environment)
    {
        var process = JsonDocument.Parse(File.ReadAllText(Path.Combine(bundle, "config.json"))).RootElement.GetProperty("process");
        var args = process.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList();
        var user = process.GetProperty("user");
        var env = process.GetProperty("env").EnumerateArray().Select(e => e.GetString()!)
            .Concat(environment.Select(e => $"{e.Key}={e.Value}"));
        var root = Path.Combine(bundle, "rootfs");
        static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
        var script = $"""
            set -e
            mount --bind {root} {root}; mount -o remount,bind,ro {root}
            mount -t tmpfs tmpfs {root}/tmp; mount -t tmpfs tmpfs {root}/var/lib/callmesh
            mount -t proc proc {root}/proc; mount --rbind /dev {root}/dev
            cd {root}{process.GetProperty("cwd").GetString()}
            exec env -i {string.Join(' ', env.Select(Quote))} /usr/sbin/chroot --userspec={user.GetProperty("uid")}:{user.GetProperty("gid")} {root} {string.Join(' ', args.Select(Quote))}
            """;
        var info = new ProcessStartInfo("unshare", ["--mount", "--pid", "--fork", "--kill-child", "/bin/sh", "-c", script])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        return info;
    }

    private static async Task<(int Exit, string Log)> RunToEndAsync(string bundle, Dictionary<string, string> environment)
    {
        using var process = Process.Start(Command(bundle, environment))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(patience.Token);
        return (process.ExitCode, await output + await error);
    }

    private void Start(string bundle, Dictionary<string, string> environment)
    {
        var process = Process.Start(Command(bundle, environment))!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _running.Add(process);
    }

    private async Task UntilAsync(HttpClient http, string url, Func<JsonElement, bool> ready)
    {
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(250))
        {
            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode && ready(await response.Content.ReadFromJsonAsync<JsonElement>())) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            Assert.False(_running.Any(p => p.HasExited), $"an image's process exited while starting ({url})");
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(90), $"{url} was not ready within 90 s");
        }
    }

    public Task InitializeAsync() => _db.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var process in _running)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        foreach (var bundle in _bundles.Where(Directory.Exists)) Directory.Delete(bundle, recursive: true);
        await _db.DisposeAsync();
    }
}
