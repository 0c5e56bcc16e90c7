using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// The carrier's answer does not wait for the rollup's notice of a new call (a completed call's update does; README,
/// Reports), so a test that reads reports right after a ringing call first waits until its location counts it.
/// </summary>
public static class Rollups
{
    /// <summary>Waits up to 10 s until the location's row of the locations report (for <paramref name="range"/>,
    /// e.g. "from=…&amp;to=…", default the API's) counts at least <paramref name="calls"/> calls.</summary>
    public static async Task UntilCallsAsync(ProcessCluster cluster, string token, string tenant, string location, decimal calls,
        string range = "")
    {
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(20))
        {
            using var response = await cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/reports/locations?{range}", token);
            var row = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray()
                .Single(r => r.GetProperty("location").GetString() == location);
            if (row.GetProperty("measures").GetProperty("calls").GetDecimal() >= calls) return;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(10), $"{location}'s rollup never counted {calls} calls ({range})");
        }
    }
}
