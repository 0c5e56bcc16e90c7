using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

[Collection(ProcessTests.Name)]
public sealed class DniDurabilityTests(TestDatabase db) : IClassFixture<TestDatabase>
{

    private static async Task<JsonElement> Session(ProcessCluster cluster, string? visitorId)
    {
        using var response = await cluster.DniSessionAsync("http://localhost/locations/katy", ["+17135550116"], visitorId,
            clientIp: $"198.51.100.{Random.Shared.Next(1, 250)}");
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task A_number_given_to_a_browser_stays_that_visitors_after_every_silo_is_killed()
    {
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 2);
        await DemoSeeder.SeedAsync(cluster.Http, cluster.SigningKeyHex, Repo.DemoBrandFile);
        var first = await Session(cluster, null);
        var visitor = first.GetProperty("visitorId").GetString();
        var number = first.GetProperty("swaps")[0].GetProperty("number").GetString();
        Assert.False(first.GetProperty("swaps")[0].GetProperty("overflow").GetBoolean());

        // Whichever silo held the pool and the visitor, it is gone now, with everything in its memory.
        for (var i = 0; i < cluster.Silos.Count; i++) cluster.Kill(cluster.Silos[i]);
        for (var i = 0; i < cluster.Silos.Count; i++) cluster.Restart(i);
        await cluster.WaitReadyAsync();

        var returning = await Session(cluster, visitor);
        Assert.Equal(number, returning.GetProperty("swaps")[0].GetProperty("number").GetString());
        var others = new List<string?>();
        for (var i = 0; i < 8; i++)
            others.Add((await Session(cluster, null)).GetProperty("swaps")[0].GetProperty("number").GetString());
        Assert.DoesNotContain(number, others);
        Assert.Equal(Guid.Parse(visitor!), await db.Scalar<Guid>(
            "SELECT visitor_id FROM callmesh.number_leases WHERE number = $1 AND kind = 'lease' AND released_at IS NULL", number!));
    }
}
