using System.Net;
using System.Text;
using System.Text.Json;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>
/// Every silo killed at once and replaced by silos on new addresses (Kubernetes' new pods with new IPs): the newcomers
/// find only dead silos in the membership table. They must join, not crash-loop waiting for silos that will never answer.
/// </summary>
[Collection(ProcessTests.Name)]
public sealed class ClusterRestartTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task A_cluster_whose_silos_all_died_comes_back_on_new_addresses_without_crash_loops()
    {
        // Orleans' own failure detection as in production (5 s probes, 3 missed), not the quicker settings of the other tests.
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 2, siloSettings: new()
        {
            ["CALLMESH_MEMBERSHIP__PROBETIMEOUT"] = "00:00:05",
            ["CALLMESH_MEMBERSHIP__NUMMISSEDPROBESLIMIT"] = "3",
        });
        await DemoSeeder.SeedAsync(cluster.Http, cluster.SigningKeyHex, Repo.DemoBrandFile);
        var before = await Members(db, "status = 3");   // Active
        Assert.Equal(2, before.Count);

        foreach (var silo in cluster.Silos) cluster.Kill(silo);
        foreach (var silo in cluster.Silos) await silo.WaitForExitAsync();
        var restarted = System.Diagnostics.Stopwatch.StartNew();
        cluster.RestartElsewhere(0);
        cluster.RestartElsewhere(1);
        await cluster.WaitReadyAsync();   // fails if a silo process exits while starting
        restarted.Stop();

        // The dead silos' rows are declared dead; the two new ones are the active members, and they serve.
        var dead = await Members(db, "status = 6");
        Assert.Subset(dead.ToHashSet(), before.ToHashSet());
        Assert.Equal(2, dead.Count);
        var active = await Members(db, "status = 3");
        Assert.Equal(2, active.Count);
        Assert.Empty(active.Intersect(before));
        Assert.All(cluster.Silos, s => Assert.False(s.HasExited));
        // Each newcomer declared its own predecessor (the silo of its name) dead at once instead of waiting for it to miss
        // probes (silo/Hosting/PredecessorCleanup.cs; 106-112 s here without it, about 10 s with it).
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(cluster.SiloLogs(), "is this silo's predecessor: declaring it dead").Count);

        using var dni = await cluster.DniSessionAsync("http://localhost/locations/katy", ["+17135550116"], origin: "http://localhost");
        Assert.Equal(HttpStatusCode.OK, dni.StatusCode);
        Console.WriteLine($"cluster back in {restarted.Elapsed.TotalSeconds:F1} s");
    }

    private static async Task<List<string>> Members(TestDatabase db, string where)
    {
        await using var connection = new Npgsql.NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"SELECT address || ':' || port || '@' || generation FROM orleans.membership_member WHERE {where}", connection);
        var members = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) members.Add(reader.GetString(0));
        return members;
    }
}
