namespace CallMesh.Reports;

/// <summary>
/// One rollup rebuild job (key: the job id): requalifies a tenant's calls under its current conversion rules and
/// replaces each location's buckets, a location per transaction, with the job's cursor moved in that same
/// transaction. Any activation on any silo resumes from the cursor; the silos' job watcher wakes a job whose
/// silo died (docs/history.md).
/// </summary>
public interface IRollupRebuildGrain : IGrainWithGuidKey
{
    /// <summary>Starts or resumes the job in the background; returns at once.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task Resume();
}
