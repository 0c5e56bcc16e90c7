using CallMesh.Jobs;
using CallMesh.Tenants;
using Microsoft.Extensions.Logging;

namespace CallMesh.Reports;

/// <summary>
/// Runs a rollup rebuild job a location at a time on a grain timer, so that the job's progress can be read and the grain
/// stays responsive; each location's rebuild commits with the job's cursor (<see cref="RollupRebuilder"/>), so a silo
/// lost mid-job costs at most the location in hand, redone by the next activation.
/// </summary>
public sealed class RollupRebuildGrain(JobStore jobs, RollupRebuilder rebuilder, ILogger<RollupRebuildGrain> logger) : Grain, IRollupRebuildGrain
{
    private IGrainTimer? _timer;

    public Task Resume()
    {
        if (_timer is not null) return Task.CompletedTask;
        // Operators (and the failover test) find the silo a job runs on in its log.
        logger.LogInformation("Rollup rebuild {Job} runs on this silo", this.GetPrimaryKey());
        _timer = this.RegisterGrainTimer(Step, new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(1)) { KeepAlive = true });
        return Task.CompletedTask;
    }

    /// <summary>One location per tick (ticks never overlap); the job's row says where it stands.</summary>
    private async Task Step(CancellationToken cancellation)
    {
        var jobId = this.GetPrimaryKey();
        var job = await jobs.GetAsync(jobId);
        if (job is null || job.State is JobStates.Done or JobStates.Failed)
        {
            Stop();
            return;
        }
        try
        {
            var tenant = GrainFactory.GetGrain<ITenantGrain>(job.TenantId);
            // Units: the calls of no location first, then each location in id order; the cursor is the last one done.
            List<string> units = ["", .. (await tenant.ListLocations()).Select(l => l.LocationId)];
            if (job.State == JobStates.Queued)
            {
                var version = (await tenant.Get())?.RulesVersion ?? 0;
                await jobs.StartAsync(jobId, units.Count);
                job = job with { State = JobStates.Running, Counts = new() { ["rulesVersion"] = version } };
            }
            var next = job.Cursor is null ? 0 : units.IndexOf(job.Cursor) + 1;
            if (next == 0 && job.Cursor is not null) throw new InvalidOperationException($"The job's cursor {job.Cursor} is no longer a location.");
            if (next >= units.Count)
            {
                await rebuilder.MarkRebuiltAsync(job.TenantId, (int)job.Counts.GetValueOrDefault("rulesVersion"));
                await jobs.FinishAsync(jobId, null);
                logger.LogInformation("Rollup rebuild {Job} of {Tenant} done: {Counts}", jobId, job.TenantId, job.Counts);
                Stop();
                return;
            }
            var unit = units[next];
            await rebuilder.RebuildAsync(job.TenantId, unit == "" ? null : unit, (connection, transaction, result) =>
            {
                var counts = new Dictionary<string, long>(job.Counts);
                void Add(string key, long value) => counts[key] = counts.GetValueOrDefault(key) + value;
                Add("calls", result.Calls);
                Add("buckets", result.Buckets);
                Add("changedBuckets", result.ChangedBuckets);
                Add("requalifiedCalls", result.RequalifiedCalls);
                return JobStore.AdvanceAsync(connection, transaction, jobId, job.Cursor, unit, counts);
            });
        }
        catch (InvalidOperationException e)
        {
            logger.LogError(e, "Rollup rebuild {Job} failed", jobId);
            await jobs.FinishAsync(jobId, e.Message);
            Stop();
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested)
        {
            // The database is away: the location in hand rolled back; try again shortly, from the same cursor.
            logger.LogWarning(e, "Rollup rebuild {Job}: a step failed, retrying", jobId);
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
