using System.Net;
using System.Net.Sockets;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// A layer-4 load balancer for the tests, standing in for the Kubernetes Service in front of the gateways: each new
/// connection goes, in turn, to a backend whose readiness probe passed at the last poll (every 500 ms), and is piped
/// there byte for byte; a connection once made stays with its backend until either side closes it, as kube-proxy's do.
/// </summary>
public sealed class TcpBalancer : IAsyncDisposable
{
    private readonly IReadOnlyList<Uri> _backends;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly Task _probing;
    private volatile Uri[] _ready;
    private int _next;

    public TcpBalancer(IReadOnlyList<Uri> backends)
    {
        _backends = backends;
        _ready = [.. backends];
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
        _probing = ProbeAsync();
    }

    public Uri Address { get; }

    private async Task ProbeAsync()
    {
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        while (!_stop.IsCancellationRequested)
        {
            var results = await Task.WhenAll(_backends.Select(async backend =>
            {
                try
                {
                    using var response = await probe.GetAsync(new Uri(backend, "/health/ready"), _stop.Token);
                    return response.IsSuccessStatusCode ? backend : null;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException) { return null; }
            }));
            _ready = [.. results.OfType<Uri>()];
            try { await Task.Delay(500, _stop.Token); } catch (OperationCanceledException) { }
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            _ = PipeAsync(client);
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        using (client)
        {
            var ready = _ready;
            if (ready.Length == 0) return;   // nowhere to send it: the client sees the connection closed
            var backend = ready[(int)((uint)Interlocked.Increment(ref _next) % ready.Length)];
            using var server = new TcpClient { NoDelay = true };
            client.NoDelay = true;
            try
            {
                await server.ConnectAsync(backend.Host, backend.Port, _stop.Token);
                var up = Copy(client.GetStream(), server);
                var down = Copy(server.GetStream(), client);
                await Task.WhenAll(up, down);
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException) { }
        }
    }

    /// <summary>Copies until the source closes, then passes the close on (a half-close, as TCP does).</summary>
    private async Task Copy(NetworkStream from, TcpClient to)
    {
        try
        {
            await from.CopyToAsync(to.GetStream(), _stop.Token);
            to.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            to.Client.Close();   // a reset on one side is a reset on the other
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll(_accepting, _probing);
        _stop.Dispose();
    }
}
