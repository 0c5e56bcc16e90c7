using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CallMesh.Tests.Api;

[Collection(ProcessTests.Name)]
public sealed class GatewayFailoverTests(TestDatabase db, ITestOutputHelper output) : IClassFixture<TestDatabase>
{

    private sealed record Outcome(TimeSpan At, HttpStatusCode? Status, int Locations);

    [Fact]
    public async Task The_gateway_keeps_answering_when_one_of_three_silos_is_killed()
    {
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 3);
        await DemoSeeder.SeedAsync(cluster.Http, cluster.SigningKeyHex, Repo.DemoBrandFile);
        var token = cluster.Token("bluebonnet", Roles.BrandAdmin);
        var clock = Stopwatch.StartNew();
        var killAt = TimeSpan.FromSeconds(3);
        var outcomes = new List<Outcome>();

        // Listing the 24 locations touches grains on every silo, so some were on the victim.
        var killed = false;
        while (clock.Elapsed < TimeSpan.FromSeconds(25))
        {
            if (!killed && clock.Elapsed >= killAt)
            {
                cluster.Kill(cluster.Silos[1]);
                killed = true;
            }
            try
            {
                using var response = await cluster.SendAsync(HttpMethod.Get, "/v1/tenants/bluebonnet/locations", token);
                var count = response.IsSuccessStatusCode
                    ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32()
                    : 0;
                outcomes.Add(new Outcome(clock.Elapsed, response.StatusCode, count));
            }
            catch (HttpRequestException)
            {
                outcomes.Add(new Outcome(clock.Elapsed, null, 0));   // the gateway itself did not answer
            }
            await Task.Delay(50);
        }

        var afterKill = outcomes.Where(o => o.At >= killAt).ToList();
        var failed = afterKill.Where(o => o.Status != HttpStatusCode.OK).ToList();
        output.WriteLine($"{afterKill.Count} requests after the kill, {failed.Count} not 200: " +
                         string.Join(", ", failed.Select(f => $"{f.At.TotalSeconds:F1}s={(int?)f.Status}")));

        // Every request got an answer; a request caught in flight to the dead silo is a 503 to retry, never a 500.
        Assert.All(outcomes, o => Assert.Contains(o.Status, new HttpStatusCode?[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        var settled = afterKill.Where(o => o.At >= killAt + TimeSpan.FromSeconds(10)).ToList();
        Assert.True(settled.Count > 50, $"only {settled.Count} requests in the settled window");
        Assert.All(settled, o => Assert.Equal((HttpStatusCode.OK, 24), (o.Status!.Value, o.Locations)));

        using var ready = await cluster.Http.GetAsync("/health/ready");
        Assert.Equal(2, (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("healthySilos").GetInt32());
    }
}
