using CallMesh.Common;
using Microsoft.Extensions.Logging;

namespace CallMesh.Outbound;

/// <summary>
/// Sends one destination's deliveries (<see cref="OutboxStore.DueAsync"/>) in batches, several requests at a time, and records
/// each batch's results together. One activation per destination in the cluster, so one sender; a silo lost mid-batch
/// leaves that batch unrecorded, and the next activation (woken by <c>OutboxWatcher</c> on any silo) sends it again with
/// the same event ids: a receiver sees a duplicate only of an event whose success was never recorded.
/// </summary>
public sealed class DestinationGrain(DestinationStore destinations, OutboxStore outbox, OutboundSender sender, OutboundOptions options,
    CallMeshMetrics metrics, TimeProvider clock, ILogger<DestinationGrain> logger) : Grain, IDestinationGrain
{
    private IGrainTimer? _timer;
    private int _idleTicks;

    public Task Wake()
    {
        _idleTicks = 0;
        if (_timer is not null) return Task.CompletedTask;
        // Operators (and the failover test) find the silo a destination is sent from in its log.
        logger.LogInformation("Destination {Destination} dispatches on this silo", this.GetPrimaryKeyString());
        _timer = this.RegisterGrainTimer(Step, new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(250)) { KeepAlive = true });
        return Task.CompletedTask;
    }

    /// <summary>Sends what is due, batch after batch, for up to a few seconds a tick (ticks never overlap).</summary>
    private async Task Step(CancellationToken cancellation)
    {
        try
        {
            var destination = await destinations.GetAsync(this.GetPrimaryKeyString());
            if (destination is not { State: DestinationStates.Active } || !DestinationKinds.IsPushed(destination.Kind))
            {
                Stop();
                return;
            }
            var started = clock.GetTimestamp();
            while (clock.GetElapsedTime(started) < TimeSpan.FromSeconds(5) && !cancellation.IsCancellationRequested)
            {
                var due = await outbox.DueAsync(destination.Id, options.BatchSize);
                if (due.Count == 0)
                {
                    // Nothing due for a minute: stop, and let the grain go; the watcher wakes it when something is.
                    if (++_idleTicks > 240) Stop();
                    return;
                }
                _idleTicks = 0;
                var results = new AttemptResult[due.Count];
                await Parallel.ForEachAsync(Enumerable.Range(0, due.Count),
                    new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellation },
                    async (i, token) => results[i] = await sender.SendAsync(destination, due[i], token));
                await outbox.RecordAsync(destination.Id, results, options);
                foreach (var result in results)
                    metrics.Deliveries.Add(1, new("kind", destination.Kind), new("result", result.Delivered ? "delivered" : "failed"));
                if (results.Any(r => r.Status == 410) || results.All(r => !r.Delivered)) return;   // let the schedule space the retries
                if (due.Count < options.BatchSize) return;
            }
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested)
        {
            // The database is away: nothing was recorded, so the batch goes again on a later tick.
            logger.LogWarning(e, "Destination {Destination}: a dispatch step failed, retrying", this.GetPrimaryKeyString());
            await Task.Delay(TimeSpan.FromSeconds(2), cancellation);
        }
    }

    private void Stop()
    {
        _timer?.Dispose();
        _timer = null;
        DeactivateOnIdle();
    }
}
