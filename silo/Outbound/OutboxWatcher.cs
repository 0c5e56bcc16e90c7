using CallMesh.Common;
using CallMesh.Outbound;

namespace CallMesh.Silo.Outbound;

/// <summary>
/// Wakes the dispatcher of every active destination with a delivery due, every second on every silo. Waking one that runs
/// does nothing (one activation in the cluster); after its silo dies, the next wake starts it on a live silo, which resends
/// what the dead one never recorded. Every 15 s it also reads the outbox's backlog for the metrics.
/// </summary>
public sealed class OutboxWatcher(OutboxStore outbox, IGrainFactory grains, CallMeshMetrics metrics, ILogger<OutboxWatcher> logger)
    : BackgroundService
{
    private static readonly TimeSpan BacklogEvery = TimeSpan.FromSeconds(15);
    private (long Pending, TimeSpan Lag) _backlog;

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        metrics.Gauge("callmesh.outbox.depth", "{delivery}", "Deliveries waiting to be sent or retried (the whole cluster's, read by every silo).",
            () => _backlog.Pending);
        metrics.Gauge("callmesh.outbox.lag", "s", "How long the most overdue waiting delivery has been due.", () => (long)_backlog.Lag.TotalSeconds);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var failing = false;
        var backlogAt = DateTime.MinValue;
        do
        {
            try
            {
                foreach (var destination in await outbox.DueDestinationsAsync())
                    await grains.GetGrain<IDestinationGrain>(destination).Wake();
                if (DateTime.UtcNow - backlogAt >= BacklogEvery)
                {
                    _backlog = await outbox.BacklogAsync();
                    backlogAt = DateTime.UtcNow;
                }
                failing = false;
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                // The database or the cluster is away for a moment: one warning per outage, not one a second.
                if (!failing) logger.LogWarning(e, "Outbox watcher: could not look for due deliveries");
                failing = true;
            }
        } while (await timer.WaitForNextTickAsync(stopping));
    }
}
