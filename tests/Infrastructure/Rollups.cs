using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// The carrier's answer does not wait for the call's row (nor its rollups, written with it): a test that reads reports
/// right after a carrier webhook first waits until its location counts the call.
/// </summary>
public static class Rollups
{
    /// <summary>Waits up to 10 s until the location's row of the locations report (for <paramref name="range"/>,
    /// e.g. "from=…&amp;to=…", default the API's) counts at least <paramref name="calls"/> of <paramref name="measure"/>.</summary>
    public static async Task UntilCallsAsync(ProcessCluster cluster, string token, string tenant, string location, decimal calls,
        string range = "", string measure = "calls")
    {
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(20))
        {
            using var response = await cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/reports/locations?{range}", token);
            var row = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
                .Single(r => r.GetProperty("location").GetString() == location);
            if (row.GetProperty("measures").GetProperty(measure).GetDecimal() >= calls) return;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(10), $"{location}'s rollup never counted {calls} {measure} ({range})");
        }
    }

    /// <summary>Polls a job until it is done (or failed), up to <paramref name="patience"/> (60 s); answers its last state.</summary>
    public static async Task<JsonElement> UntilJobDoneAsync(ProcessCluster cluster, string token, string tenant, Guid jobId, TimeSpan? patience = null)
    {
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            using var response = await cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/jobs/{jobId}", token);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            var job = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (job.GetProperty("state").GetString() is "done" or "failed") return job;
            Assert.True(wait.Elapsed < (patience ?? TimeSpan.FromSeconds(60)), $"job {jobId} never finished: {job}");
        }
    }
}
