using CallMesh.Jobs;
using CallMesh.Reports;

namespace CallMesh.Silo.History;

/// <summary>
/// Wakes jobs that stopped moving (their silo died, or the whole cluster restarted): every silo looks every few
/// seconds, and a woken job's grain resumes from its cursor. Waking a job that runs elsewhere does nothing: its grain is
/// the one activation in the cluster.
/// </summary>
public sealed class JobWatcher(JobStore jobs, IGrainFactory grains, ILogger<JobWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        do
        {
            try
            {
                foreach (var jobId in await jobs.StalledAsync())
                {
                    logger.LogInformation("Resuming job {Job}", jobId);
                    await grains.GetGrain<IRollupRebuildGrain>(jobId).Resume();
                }
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                logger.LogWarning(e, "Job watcher: could not look for stalled jobs");
            }
        } while (await timer.WaitForNextTickAsync(stopping));
    }
}
