using CallMesh.Identity;
using CallMesh.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>Jobs a brand admin started (a rollup rebuild): their state and progress.</summary>
public static class JobsApi
{
    /// <summary>A job as the API shows it; <c>progress</c> runs from 0 to 1.</summary>
    public sealed record JobResource(Guid JobId, string Kind, string State, decimal Progress, int Done, int Total,
        Dictionary<string, long> Counts, string? Error, DateTime CreatedAt, DateTime UpdatedAt, DateTime? FinishedAt)
    {
        public static JobResource From(JobStatus job) => new(job.JobId, job.Kind, job.State, job.Progress, job.Done, job.Total,
            job.Counts, job.Error, job.CreatedAt, job.UpdatedAt, job.FinishedAt);
    }

    public static RouteGroupBuilder MapJobsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/jobs").WithTags("Jobs").RequireAuthorization();
        group.MapGet("/{jobId:guid}", GetJob).WithSummary("A job's state (queued, running, done, failed) and progress (brand-admin).");
        return group;
    }

    public static async Task<Results<Ok<JobResource>, ProblemHttpResult>> GetJob(string tenant, Guid jobId, HttpContext http, JobStore jobs)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        if (!caller.ConfiguresTenant(tenant)) return Problems.Forbidden("read jobs");
        // Another tenant's job is not found, as if it did not exist.
        return await jobs.GetAsync(jobId) is { } job && job.TenantId == tenant
            ? TypedResults.Ok(JobResource.From(job))
            : Problems.NotFound("job");
    }
}
