using CallMesh.Outbound;

namespace CallMesh.Silo.Outbound;

/// <summary>
/// Wakes the dispatcher of every active destination with a delivery due, every second on every silo. Waking one that runs
/// does nothing (one activation in the cluster); after its silo dies, the next wake starts it on a live silo, which resends
/// what the dead one never recorded.
/// </summary>
public sealed class OutboxWatcher(OutboxStore outbox, IGrainFactory grains, ILogger<OutboxWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var failing = false;
        do
        {
            try
            {
                foreach (var destination in await outbox.DueDestinationsAsync())
                    await grains.GetGrain<IDestinationGrain>(destination).Wake();
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
