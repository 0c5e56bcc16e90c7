using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CallMesh.Tests.Infrastructure;

/// <summary>What a receiver got: the request as it arrived, raw body included.</summary>
public sealed record ReceivedRequest(string Path, string Query, Dictionary<string, string> Headers, string Body, DateTime At, int AnsweredStatus)
{
    public string? Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant());
}

/// <summary>
/// A brand's receiver on a loopback port: records every request and answers what the test says (a status, slowly, or not at
/// all when stopped: connection refused). It restarts on the same port, as a receiver back from an outage does.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private WebApplication? _app;

    public int Port { get; } = Ports.Free();
    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    /// <summary>The status to answer for a path (default 200); a request is recorded whatever the answer.</summary>
    public ConcurrentDictionary<string, int> Status { get; } = new();

    /// <summary>How long to take before answering.</summary>
    public TimeSpan Delay { get; set; }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        await receiver.UpAsync();
        return receiver;
    }

    public async Task UpAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        var app = builder.Build();
        app.Run(async http =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            var status = Status.GetValueOrDefault(http.Request.Path.Value ?? "", 200);
            Received.Enqueue(new ReceivedRequest(http.Request.Path, http.Request.QueryString.Value ?? "",
                http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), body, DateTime.UtcNow, status));
            if (Delay > TimeSpan.Zero) await Task.Delay(Delay);
            http.Response.StatusCode = status;
            await http.Response.WriteAsync(http.Response.StatusCode == 200 ? "ok" : "not now");
        });
        await app.StartAsync();
        _app = app;
    }

    /// <summary>Stops listening: connections are refused until <see cref="UpAsync"/>.</summary>
    public async Task DownAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    public List<ReceivedRequest> At(string path) => [.. Received.Where(r => r.Path == path)];

    /// <summary>Waits until <paramref name="done"/> holds for what <paramref name="path"/> received.</summary>
    public async Task<List<ReceivedRequest>> UntilAsync(string path, Func<List<ReceivedRequest>, bool> done, TimeSpan? patience = null)
    {
        var wait = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var got = At(path);
            if (done(got)) return got;
            Assert.True(wait.Elapsed < (patience ?? TimeSpan.FromSeconds(20)),
                $"{path} received {got.Count} requests, not what the test waited for: {string.Join(" | ", got.Select(r => r.Body.Length > 120 ? r.Body[..120] : r.Body))}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync() => await DownAsync();
}
