using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallMesh.Identity;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// Real silo processes and a real gateway process, as `./callmesh up` starts them, on a test
/// database. Used where a test is about HTTP through the gateway or about crashes (SIGKILL).
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly List<Process> _processes = [];
    private readonly string _logs = Directory.CreateTempSubdirectory("callmesh-test-").FullName;

    public string SigningKeyHex { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
    public string InternalKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
    /// <summary>The certificate pair the silos show each other (mutual TLS), made for this cluster as `./callmesh up` makes one.</summary>
    public string SiloTlsDirectory => Path.Combine(_logs, "silo-tls");
    /// <summary>The certificate that encrypts the silos' Data Protection key ring, as `./callmesh up` makes one.</summary>
    public string DataProtectionDirectory => Path.Combine(_logs, "data-protection");
    public Uri Gateway { get; private set; } = null!;
    public List<Uri> SiloUrls { get; } = [];
    public List<Process> Silos { get; } = [];
    public List<Uri> GatewayUrls { get; } = [];
    public List<Process> Gateways { get; } = [];
    public HttpClient Http { get; private set; } = null!;

    private readonly List<Dictionary<string, string>> _siloEnvironments = [];
    private readonly List<Dictionary<string, string>> _gatewayEnvironments = [];
    private Dictionary<string, string> _gatewaySettings = [];
    private TcpBalancer? _balancer;
    private string _clusterId = "";
    private string _silosPostgres = "";

    /// <summary>Gateway settings for every test cluster: the loopback is a trusted proxy, so tests can act as many clients.</summary>
    public static readonly Dictionary<string, string> TestGatewaySettings = new()
    {
        ["CALLMESH_TRUSTED_PROXIES"] = "127.0.0.0/8",
        ["CALLMESH_RATELIMIT__DNIPERIPPERMINUTE"] = "120",
        // The tests' own requests come from one address (polling among them): a limit they stay under, still a limit.
        ["CALLMESH_RATELIMIT__APIPERIPPERMINUTE"] = "3000",
    };

    public static async Task<ProcessCluster> StartAsync(string postgres, int silos, Dictionary<string, string>? gatewaySettings = null,
        Dictionary<string, string>? siloSettings = null)
    {
        var cluster = new ProcessCluster();
        try
        {
            await cluster.StartProcessesAsync(postgres, silos, gatewaySettings ?? [], siloSettings ?? []);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessesAsync(string postgres, int silos, Dictionary<string, string> gatewaySettings, Dictionary<string, string> siloSettings)
    {
        _clusterId = $"test-{Guid.NewGuid():N}"[..16];
        CallMesh.Silo.Hosting.Certificates.WriteSelfSigned(SiloTlsDirectory, "callmesh-silo");
        CallMesh.Silo.Hosting.Certificates.WriteSelfSigned(DataProtectionDirectory, "callmesh-data-protection", rsa: true);
        _silosPostgres = await SiloLogin.PrepareAsync(postgres);
        for (var i = 1; i <= silos; i++) AddSilo(siloSettings);
        _gatewaySettings = gatewaySettings;
        AddGateway();
        Gateway = GatewayUrls[0];
        Http = new HttpClient { BaseAddress = Gateway, Timeout = TimeSpan.FromSeconds(30) };

        await WaitReadyAsync();
    }

    /// <summary>
    /// Starts one more silo of this cluster (the gateway does not know it), with <paramref name="overrides"/> on top of the
    /// usual settings; returns its index in <see cref="Silos"/>.
    /// </summary>
    public int AddSilo(Dictionary<string, string> overrides)
    {
        var i = _siloEnvironments.Count + 1;
        var http = Ports.Free();
        SiloUrls.Add(new Uri($"http://127.0.0.1:{http}"));
        _siloEnvironments.Add(new()
        {
            ["CALLMESH_POSTGRES"] = _silosPostgres,   // not the owner: the silos' login (SiloLogin)
            ["CALLMESH_MIGRATE_ON_START"] = "false",
            ["CALLMESH_CLUSTER_ID"] = _clusterId,
            ["CALLMESH_HTTP_PORT"] = http.ToString(),
            ["CALLMESH_SILO_PORT"] = Ports.Free().ToString(),
            ["CALLMESH_SILO_NAME"] = $"silo-{i}",
            ["CALLMESH_LISTEN_ADDRESS"] = "127.0.0.1",   // as ./callmesh up
            ["CALLMESH_RATELIMIT__DNIPERSITEPERSECOND"] = "100",
            // Kept across a restart of the same silo, as a Kubernetes volume is: its journal is replayed.
            ["CALLMESH_JOURNAL_DIR"] = Path.Combine(_logs, $"journal-silo-{i}"),
            ["CALLMESH_AUTH__DEVSIGNINGKEYHEX"] = SigningKeyHex,
            ["CALLMESH_INTERNAL_KEY"] = InternalKey,
            ["CALLMESH_SILO_TLS_DIR"] = SiloTlsDirectory,
            ["CALLMESH_DATA_PROTECTION_DIR"] = DataProtectionDirectory,
            // Notice a killed silo in a few seconds instead of the production ~15 s.
            ["CALLMESH_MEMBERSHIP__PROBETIMEOUT"] = "00:00:01",
            ["CALLMESH_MEMBERSHIP__NUMMISSEDPROBESLIMIT"] = "2",
        });
        foreach (var (key, value) in overrides) _siloEnvironments[^1][key] = value;
        Silos.Add(Start($"silo-{i}", Repo.SiloDll, _siloEnvironments[^1]));
        return i - 1;
    }

    /// <summary>Starts one more gateway in front of every silo (each with its own state, as a pod's); returns its index.</summary>
    public int AddGateway()
    {
        var port = Ports.Free();
        GatewayUrls.Add(new Uri($"http://127.0.0.1:{port}"));
        var gateway = new Dictionary<string, string>(TestGatewaySettings)
        {
            ["CALLMESH_GATEWAY_PORT"] = port.ToString(),
            ["CALLMESH_LISTEN_ADDRESS"] = "127.0.0.1",
            ["CALLMESH_SILOS"] = string.Join(",", SiloUrls.Select(u => u.ToString().TrimEnd('/'))),
            ["CALLMESH_AUTH__DEVSIGNINGKEYHEX"] = SigningKeyHex,
            ["CALLMESH_INTERNAL_KEY"] = InternalKey,
            ["CALLMESH_GATEWAY_STATE_DIR"] = Path.Combine(_logs, $"gateway-state-{GatewayUrls.Count}"),
            ["CALLMESH_FAILSAFE_REFRESH_SECONDS"] = "1",
        };
        foreach (var (key, value) in _gatewaySettings) gateway[key] = value;
        _gatewayEnvironments.Add(gateway);
        Gateways.Add(Start(GatewayUrls.Count == 1 ? "gateway" : $"gateway-{GatewayUrls.Count}", Repo.GatewayDll, gateway));
        return Gateways.Count - 1;
    }

    /// <summary>
    /// From here on, clients reach the gateways through a load balancer (<see cref="TcpBalancer"/>), as a Kubernetes
    /// Service puts them behind one address.
    /// </summary>
    public void UseBalancer()
    {
        _balancer = new TcpBalancer(GatewayUrls);
        Gateway = _balancer.Address;
        Http.Dispose();
        Http = new HttpClient { BaseAddress = Gateway, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Starts gateway <paramref name="index"/> again with the same port and settings.</summary>
    public void RestartGateway(int index) =>
        Gateways[index] = Start($"gateway-{index + 1}-restart-{Guid.NewGuid():N}"[..28], Repo.GatewayDll, _gatewayEnvironments[index]);

    /// <summary>Silo <paramref name="index"/>'s Orleans (silo-to-silo) port.</summary>
    public int SiloPort(int index) => int.Parse(_siloEnvironments[index]["CALLMESH_SILO_PORT"]);

    /// <summary>Until every silo is ready and the gateway routes to all of them.</summary>
    public async Task WaitReadyAsync()
    {
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        foreach (var silo in SiloUrls) await WaitUntil(probe, new Uri(silo, "/health/ready"), _ => true);
        foreach (var gateway in GatewayUrls)
            await WaitUntil(probe, new Uri(gateway, "/health/ready"),
                body => JsonDocument.Parse(body).RootElement.GetProperty("healthySilos").GetInt32() == SiloUrls.Count);
    }

    /// <summary>Starts silo <paramref name="index"/> again with the same ports and settings (after a kill).</summary>
    public void Restart(int index)
    {
        var name = $"silo-{index + 1}";
        Silos[index] = Start($"{name}-restart-{Guid.NewGuid():N}"[..24], Repo.SiloDll, _siloEnvironments[index]);
    }

    /// <summary>
    /// Starts silo <paramref name="index"/> again on a new silo port, as Kubernetes replaces a pod with one of a new IP: the
    /// old silo's membership row names an address nobody answers on.
    /// </summary>
    public void RestartElsewhere(int index)
    {
        _siloEnvironments[index]["CALLMESH_SILO_PORT"] = Ports.Free().ToString();
        Restart(index);
    }

    private async Task WaitUntil(HttpClient probe, Uri url, Func<string, bool> ready)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            try
            {
                using var response = await probe.GetAsync(url);
                if (response.IsSuccessStatusCode && ready(await response.Content.ReadAsStringAsync())) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            if (Silos.Concat(Gateways).Any(p => p.HasExited))
                throw new InvalidOperationException($"a process exited during start-up:\n{Logs()}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{url} was not ready within 120 s:\n{Logs()}");
            await Task.Delay(250);
        }
    }

    private Process Start(string name, string dll, Dictionary<string, string> environment)
    {
        // exec: the PID we hold is dotnet itself, so a SIGKILL kills the silo, not a shell.
        var info = new ProcessStartInfo("/bin/sh", ["-c", $"exec dotnet \"{dll}\" >\"{_logs}/{name}.log\" 2>&1"])
        {
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var (key, value) in environment) info.Environment[key] = value;
        var process = Process.Start(info)!;
        _processes.Add(process);
        return process;
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod in a rolling restart: the silo drains, leaves the cluster and exits.</summary>
    public Task StopGracefullyAsync(int index) => StopGracefullyAsync(Silos[index]);

    /// <summary>SIGTERM to any of the cluster's processes (a gateway drains too); done when it has exited.</summary>
    public static async Task StopGracefullyAsync(Process process)
    {
        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString()])!) await term.WaitForExitAsync();
        await process.WaitForExitAsync();
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public void Kill(Process process) => process.Kill(entireProcessTree: false);

    /// <summary>Everything the silos have logged so far.</summary>
    /// <summary>The log file of silo <paramref name="index"/> (0-based, as <see cref="Silos"/>) as first started.</summary>
    public string SiloLog(int index) => Path.Combine(_logs, $"silo-{index + 1}.log");

    /// <summary>What silo <paramref name="index"/> has logged so far (read while the silo writes it), or "" before it logs.</summary>
    public string ReadSiloLog(int index)
    {
        if (!File.Exists(SiloLog(index))) return "";
        using var stream = new FileStream(SiloLog(index), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    public string SiloLogs() => string.Join("\n", Directory.GetFiles(_logs, "silo-*.log").Select(File.ReadAllText));

    /// <summary>Silo <paramref name="index"/>'s journal directory.</summary>
    public string JournalDirectory(int index) => _siloEnvironments[index]["CALLMESH_JOURNAL_DIR"];

    public string Logs() => string.Join("\n", Directory.GetFiles(_logs).Select(f =>
        $"--- {Path.GetFileName(f)}\n{string.Join("\n", File.ReadLines(f).TakeLast(30))}"));

    public string Token(string? tenant, string role, string[]? locations = null, string[]? markets = null) =>
        UserTokens.Mint(SigningKeyHex, tenant, role, locations, markets, subject: $"test-{role}");

    /// <summary>
    /// Asks for a DNI session as the swap script does (a text/plain body, so no CORS preflight; the site key also in the
    /// query, where the gateway's per-site limit reads it), by default for the demo brand's site.
    /// </summary>
    public Task<HttpResponseMessage> DniSessionAsync(string url, string[] targets, string? visitorId = null, string siteKey = "bluebonnet-web",
        string? origin = null, string? clientIp = null, Action<HttpRequestMessage>? configure = null)
    {
        var body = JsonSerializer.Serialize(new { siteKey, visitorId, url, targets });
        return SendAsync(HttpMethod.Post, $"/v1/dni/sessions?siteKey={siteKey}", null, new StringContent(body, Encoding.UTF8, "text/plain"), request =>
        {
            if (origin is not null) request.Headers.Add("Origin", origin);
            if (clientIp is not null) request.Headers.Add("X-Forwarded-For", clientIp);
            configure?.Invoke(request);
        });
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, object? body = null,
        Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        configure?.Invoke(request);
        if (body is not null) request.Content = body as HttpContent ?? JsonContent.Create(body);
        return await Http.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            try { if (!process.HasExited) process.Kill(); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync();
            process.Dispose();
        }
        Http?.Dispose();
        if (_balancer is not null) await _balancer.DisposeAsync();
        try { Directory.Delete(_logs, recursive: true); } catch (IOException) { }
    }
}
