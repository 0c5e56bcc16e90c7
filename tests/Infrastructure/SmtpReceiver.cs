using System.Diagnostics;
using System.Text.Json;

namespace CallMesh.Tests.Infrastructure;

/// <summary>A message the receiver accepted: the envelope and the raw message (headers and body).</summary>
public sealed record ReceivedMail(string From, List<string> To, string Data)
{
    public string? Header(string name) => Data.Split("\r\n\r\n", 2)[0].Replace("\r\n ", " ").Split("\r\n")
        .FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim();
}

/// <summary>
/// A real local mail server (nodemailer's smtp-server, tests/Infrastructure/smtp) on a fixed loopback port, which a test can
/// take down and bring up again to see alerts retried; every message it accepted is kept, across restarts.
/// </summary>
public sealed class SmtpReceiver : IAsyncDisposable
{
    private static readonly string Script = Path.Combine(Repo.Root, "tests", "Infrastructure", "smtp", "receiver.mjs");
    private readonly List<ReceivedMail> _received = [];
    private readonly string _tools;
    private Process? _process;

    public int Port { get; } = Ports.Free();

    private SmtpReceiver(string tools) => _tools = tools;

    public static async Task<SmtpReceiver> StartAsync(bool up = true)
    {
        var tools = Environment.GetEnvironmentVariable("CALLMESH_SMTP_TOOLS") ?? Path.Combine(Repo.Root, ".callmesh", "tools", "smtp-receiver");
        await NpmPackages.InstallAsync(Path.Combine(Repo.Root, "tests", "Infrastructure", "smtp", "package.json"), tools, "smtp-server");
        var receiver = new SmtpReceiver(tools);
        if (up) await receiver.UpAsync();
        return receiver;
    }

    public async Task UpAsync()
    {
        var info = new ProcessStartInfo("node", [Script, Port.ToString()])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        info.Environment["CALLMESH_SMTP_TOOLS"] = _tools;
        var process = Process.Start(info)!;
        var listening = new TaskCompletionSource();
        var errors = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { Length: > 0 } line) return;
            var json = JsonDocument.Parse(line).RootElement;
            if (json.TryGetProperty("listening", out JsonElement _)) listening.TrySetResult();
            else
                lock (_received)
                    _received.Add(new ReceivedMail(json.GetProperty("from").GetString()!,
                        [.. json.GetProperty("to").EnumerateArray().Select(t => t.GetString()!)], json.GetProperty("data").GetString()!));
        };
        process.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30))) != listening.Task)
        {
            if (!process.HasExited) process.Kill();
            lock (errors) Assert.Fail($"the SMTP receiver did not start: {errors}");
        }
        _process = process;
    }

    /// <summary>Stops listening: a sender now finds the port closed.</summary>
    public async Task DownAsync()
    {
        if (_process is not { } process) return;
        _process = null;
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }

    public List<ReceivedMail> Received
    {
        get { lock (_received) return [.. _received]; }
    }

    /// <summary>Waits until the messages received satisfy <paramref name="done"/> (at most 30 s), and returns them.</summary>
    public async Task<List<ReceivedMail>> UntilAsync(Func<List<ReceivedMail>, bool> done)
    {
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(50))
        {
            if (Received is var received && done(received)) return received;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(30), $"the mail expected did not arrive within 30 s ({received.Count} received)");
        }
    }

    public async ValueTask DisposeAsync() => await DownAsync();
}
