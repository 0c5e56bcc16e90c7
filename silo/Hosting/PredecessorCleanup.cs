using Orleans.Runtime;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// A silo named like this one at another address is this silo's previous life: a StatefulSet pod's stable name (a
/// replaced pod comes back with a new IP) or `./callmesh up`'s silo-N. Only one process runs under a name, so the other
/// is dead; this declares it so before the silo joins. Without it, silos restarted after all of them died (a full cluster
/// restart, a node pool replaced) waited for their predecessors to miss probes: 106-112 s for two silos with Orleans'
/// default probe settings (tests/Api/ClusterRestartTests.cs). Kubernetes hosting does the same for pods that are gone,
/// but matches by name, so it cannot see a predecessor whose replacement carries the same name.
/// </summary>
public sealed class PredecessorCleanup(IClusterMembershipService membership, ILocalSiloDetails local, ILogger<PredecessorCleanup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PredecessorCleanup), ServiceLifecycleStage.AfterRuntimeGrainServices, DeclarePredecessorsDeadAsync);

    private async Task DeclarePredecessorsDeadAsync(CancellationToken cancellation)
    {
        var declared = new HashSet<SiloAddress>();
        try
        {
            // A declaration is a conditional write of the table: silos starting together (each declaring its own
            // predecessor, inserting its own row) can void one another's. So: declare, read back, again until none is left.
            for (var attempt = 0; attempt < 20 && !cancellation.IsCancellationRequested; attempt++)
            {
                await membership.Refresh();
                var predecessors = membership.CurrentSnapshot.Members.Values
                    .Where(m => m.Name == local.Name && !m.SiloAddress.Equals(local.SiloAddress) && m.Status != SiloStatus.Dead)
                    .ToList();
                if (predecessors.Count == 0) return;
                foreach (var predecessor in predecessors)
                {
                    if (declared.Add(predecessor.SiloAddress))
                        logger.LogWarning("Silo {Name} at {Address} is this silo's predecessor: declaring it dead", predecessor.Name, predecessor.SiloAddress);
                    await membership.TryKill(predecessor.SiloAddress);
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellation);
            }
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested)
        {
            // Joining goes on: at worst it waits for the predecessor to miss its probes, as Orleans would anyway.
            logger.LogWarning(e, "Could not look for this silo's predecessors in the membership table");
        }
    }
}
