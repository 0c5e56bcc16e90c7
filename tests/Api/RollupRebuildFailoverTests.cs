using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Tests.Api;

/// <summary>A rollup rebuild job survives the kill -9 of the silo running it: another silo resumes it from its cursor.</summary>
[Collection(ProcessTests.Name)]
public sealed class RollupRebuildFailoverTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    private const string Tenant = "bluebonnet";
    private const int CallsPerLocation = 2500;

    [Fact]
    public async Task A_rebuild_whose_silo_is_killed_resumes_elsewhere_counts_every_location_once_and_reports_answer_cold_after()
    {
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 2);
        await DemoSeeder.SeedAsync(cluster.Http, cluster.SigningKeyHex, Repo.DemoBrandFile);
        var admin = cluster.Token(Tenant, Roles.BrandAdmin);
        var locations = await SeedCallsAsync();   // behind CallMesh's back: unqualified, in no rollup

        using var started = await cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/rollups/rebuild", admin);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();

        // Find the silo running the job by its log line, and kill it once the job is under way but not done.
        var clock = Stopwatch.StartNew();
        int? victim = null;
        while (victim is null)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the job never got under way");
            var job = await JobAsync(cluster, admin, jobId);
            Assert.NotEqual("done", job.GetProperty("state").GetString());
            if (job.GetProperty("done").GetInt32() >= 2)
                for (var i = 0; i < cluster.Silos.Count; i++)
                    if (cluster.ReadSiloLog(i).Contains($"Rollup rebuild {jobId} runs on this silo"))
                        victim = i;
            await Task.Delay(20);
        }
        cluster.Kill(cluster.Silos[victim.Value]);
        var atKill = (await JobAsync(cluster, admin, jobId)).GetProperty("done").GetInt32();

        var done = await Rollups.UntilJobDoneAsync(cluster, admin, Tenant, jobId, TimeSpan.FromSeconds(120));
        Assert.Equal("done", done.GetProperty("state").GetString());
        Assert.True(atKill < done.GetProperty("total").GetInt32(), "the job finished before its silo was killed");
        Assert.Equal(done.GetProperty("total").GetInt32(), done.GetProperty("done").GetInt32());
        // Each location counted once: a location redone after the kill would count its calls twice.
        Assert.Equal(locations.Count * CallsPerLocation, done.GetProperty("counts").GetProperty("calls").GetInt64());
        Assert.Contains($"Resuming job {jobId}", cluster.SiloLogs());

        // The buckets are the calls table's sums.
        Assert.Equal(0, await db.Scalar<long>(
            """
            SELECT count(*) FROM (SELECT location_id, count(*) AS calls, count(*) FILTER (WHERE qualified) AS qualified
                                    FROM callmesh.calls WHERE tenant_id = $1 AND call_id LIKE 'CAfail%' GROUP BY 1) c
              LEFT JOIN (SELECT location_id, sum(calls) / 1000000 AS calls, sum(qualified) / 1000000 AS qualified
                           FROM callmesh.rollup_days WHERE tenant_id = $1 GROUP BY 1) r USING (location_id)
             WHERE r.calls IS DISTINCT FROM c.calls OR r.qualified IS DISTINCT FROM c.qualified
            """, Tenant));

        // The killed silo comes back cold: reports answer at once (they hold nothing in memory to rebuild) and agree.
        cluster.Restart(victim.Value);
        await cluster.WaitReadyAsync();
        var range = $"from={DateTime.UtcNow.AddDays(-30):yyyy-MM-dd}&to={DateTime.UtcNow:yyyy-MM-dd}";
        for (var i = 0; i < 10; i++)
        {
            using var report = await cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/locations?{range}", admin);
            Assert.Equal(HttpStatusCode.OK, report.StatusCode);
            var totals = (await report.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("totals");
            Assert.True(totals.GetProperty("calls").GetDecimal() >= locations.Count * CallsPerLocation);
        }
    }

    private static async Task<JsonElement> JobAsync(ProcessCluster cluster, string admin, Guid jobId)
    {
        using var response = await cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/jobs/{jobId}", admin);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Answered calls of 0–119 s to each demo location, half of them long enough for the brand's 60 s rule.</summary>
    private async Task<List<string>> SeedCallsAsync()
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        var locations = new List<string>();
        await using (var command = new NpgsqlCommand(
                   "SELECT DISTINCT location_id FROM callmesh.tracking_numbers WHERE tenant_id = $1 AND location_id IS NOT NULL ORDER BY 1", connection))
        {
            command.Parameters.Add(new() { Value = Tenant });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) locations.Add(reader.GetString(0));
        }
        var start = DateTime.UtcNow.AddDays(-20);
        await using (var writer = await connection.BeginBinaryImportAsync(
                         """
                         COPY callmesh.calls (call_id, tenant_id, location_id, account_sid, tracking_number, number_kind, caller, started_at, ended_at,
                             status, answered, duration_seconds, talk_seconds, route, routing, source, medium, first_time, first_time_location,
                             within_hours, local_day, match) FROM STDIN (FORMAT BINARY)
                         """))
        {
            var n = 0;
            foreach (var location in locations)
                for (var i = 0; i < CallsPerLocation; i++, n++)
                {
                    var at = start.AddSeconds(n * 7);
                    await writer.StartRowAsync();
                    await writer.WriteAsync($"CAfail{n:D26}");
                    await writer.WriteAsync(Tenant);
                    await writer.WriteAsync(location);
                    await writer.WriteAsync("ACfail");
                    await writer.WriteAsync("+15125550100");
                    await writer.WriteAsync("static");
                    await writer.WriteAsync($"+1415555{n % 10_000:D4}");
                    await writer.WriteAsync(at, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(at.AddSeconds(i % 120 + 5), NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync("completed");
                    await writer.WriteAsync(true);
                    await writer.WriteAsync(i % 120 + 5);
                    await writer.WriteAsync(i % 120);
                    await writer.WriteAsync("open");
                    await writer.WriteAsync("""{"action":"dial","route":"open","dialTo":"+15125550101","callerId":"+15125550100","record":false}""", NpgsqlDbType.Jsonb);
                    await writer.WriteAsync("google");
                    await writer.WriteAsync("gbp");
                    await writer.WriteAsync(true);
                    await writer.WriteAsync(true);
                    await writer.WriteAsync(true);
                    await writer.WriteAsync(DateOnly.FromDateTime(at), NpgsqlDbType.Date);
                    await writer.WriteAsync("static");
                }
            await writer.CompleteAsync();
        }
        await using (var keys = new NpgsqlCommand(
                         "INSERT INTO callmesh.call_keys (call_id, tenant_id, started_at) SELECT call_id, tenant_id, started_at FROM callmesh.calls WHERE call_id LIKE 'CAfail%'",
                         connection))
            await keys.ExecuteNonQueryAsync();
        return locations;
    }
}
