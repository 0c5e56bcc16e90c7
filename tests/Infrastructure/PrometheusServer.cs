using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// Debian's Prometheus, scraping CallMesh's management ports as a PodMonitor would (with the pod and container labels
/// Kubernetes would add) and evaluating the shipped alert rules. `./callmesh test` unpacks the package under
/// .callmesh/tools/prometheus; CALLMESH_PROMETHEUS names another bin folder.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public static string Tool(string name)
    {
        var bin = Environment.GetEnvironmentVariable("CALLMESH_PROMETHEUS") ?? Path.Combine(Repo.Root, ".callmesh", "tools", "prometheus", "usr", "bin");
        var path = Path.Combine(bin, name);
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: `./callmesh test` unpacks Debian's prometheus package there");
        return path;
    }

    /// <summary>Starts Prometheus scraping each target every second; rules (a rule file's text) are evaluated every second.</summary>
    public static async Task<PrometheusServer> StartAsync(string? rules, params (int Port, string Container, string Pod)[] targets)
    {
        var directory = Directory.CreateTempSubdirectory("callmesh-prometheus-").FullName;
        if (rules is not null) await File.WriteAllTextAsync(Path.Combine(directory, "rules.json"), rules);
        var scrape = string.Join("\n", targets.Select(t =>
            $"      - targets: ['127.0.0.1:{t.Port}']\n        labels: {{ container: {t.Container}, pod: {t.Pod} }}"));
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $"""
            global: {"{"} scrape_interval: 1s, evaluation_interval: 1s {"}"}
            rule_files: [{(rules is null ? "" : "rules.json")}]
            scrape_configs:
              - job_name: callmesh
                static_configs:
            {scrape}
            """);
        var port = Ports.Free();
        var process = Process.Start(new ProcessStartInfo(Tool("prometheus"),
        [
            $"--config.file={directory}/prometheus.yml", $"--storage.tsdb.path={directory}/data", $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ])
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var server = new PrometheusServer(process, directory, port);
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            Assert.False(process.HasExited, "prometheus exited at start (its configuration is in " + directory + ")");
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(30), "prometheus did not become ready");
            try { if ((await server._http.GetAsync("/-/ready")).IsSuccessStatusCode) return server; } catch (HttpRequestException) { }
        }
    }

    /// <summary>An instant query's result vector; a query Prometheus rejects fails the test with its error.</summary>
    public async Task<JsonElement> QueryAsync(string expr)
    {
        using var response = await _http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(expr));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("status").GetString() == "success", $"Prometheus rejected {expr}: {body}");
        return body.GetProperty("data").GetProperty("result");
    }

    /// <summary>The loaded alerting rules with their health, last error and state (GET /api/v1/rules).</summary>
    public async Task<List<JsonElement>> RulesAsync()
    {
        var body = await _http.GetFromJsonAsync<JsonElement>("/api/v1/rules");
        return body.GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray()).ToList();
    }

    /// <summary>Polls until the query returns a non-empty vector.</summary>
    public async Task<JsonElement> WaitForAsync(string expr, string what, TimeSpan? timeout = null)
    {
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(250))
        {
            var result = await QueryAsync(expr);
            if (result.GetArrayLength() > 0) return result;
            Assert.True(wait.Elapsed < (timeout ?? TimeSpan.FromSeconds(30)), $"{what}: {expr} stayed empty");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
