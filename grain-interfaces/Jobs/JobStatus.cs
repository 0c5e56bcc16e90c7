namespace CallMesh.Jobs;

/// <summary>
/// Long work a brand admin started (docs/history.md), as <c>GET /v1/tenants/{t}/jobs/{id}</c> shows it. <c>State</c>:
/// queued, running, done or failed; <c>Progress</c> from 0 to 1 (units done over units).
/// </summary>
[GenerateSerializer, Alias("callmesh.JobStatus")]
public sealed record JobStatus(
    [property: Id(0)] Guid JobId,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string Kind,
    [property: Id(3)] string State,
    [property: Id(4)] int Done,
    [property: Id(5)] int Total,
    [property: Id(6)] string? Cursor,
    [property: Id(7)] Dictionary<string, long> Counts,
    [property: Id(8)] string? Error,
    [property: Id(9)] DateTime CreatedAt,
    [property: Id(10)] DateTime UpdatedAt,
    [property: Id(11)] DateTime? FinishedAt)
{
    public decimal Progress => State == JobStates.Done ? 1 : Total == 0 ? 0 : decimal.Round((decimal)Done / Total, 4);
}

public static class JobStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";
}
