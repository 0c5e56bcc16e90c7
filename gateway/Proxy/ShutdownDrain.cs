namespace CallMesh.Gateway.Proxy;

/// <summary>
/// A rolling restart of the gateways fails no request. On SIGTERM a gateway reports unready and goes on serving for
/// <c>SHUTDOWN_DRAIN_SECONDS</c> (default 5) while the load balancer stops sending it new connections; every answer in that
/// time says <c>Connection: close</c>, so a client's kept-alive connection ends after its current request and the next one
/// connects afresh, to a gateway that stays. Only then does Kestrel stop accepting and finish what is in flight. (In
/// Kubernetes the pod's preStop sleep comes first: endpoints are removed as the pod starts terminating.)
/// </summary>
public sealed class ShutdownDrain
{
    public bool Draining { get; private set; }

    public static void Use(WebApplication app)
    {
        var drain = app.Services.GetRequiredService<ShutdownDrain>();
        var seconds = app.Configuration.GetValue("SHUTDOWN_DRAIN_SECONDS", 5.0);
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            drain.Draining = true;
            Thread.Sleep(TimeSpan.FromSeconds(seconds));   // blocks the stop, not the requests being served meanwhile
        });
        // Set as the answer starts (after the proxy copied the silo's headers), so a request that began before the drain says it too.
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                if (drain.Draining) http.Response.Headers.Connection = "close";
                return Task.CompletedTask;
            });
            return next(http);
        });
    }
}
