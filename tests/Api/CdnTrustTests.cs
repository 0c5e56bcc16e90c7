using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

[Collection(ProcessTests.Name)]
public sealed class CdnTrustTests(TestDatabase db) : IClassFixture<TestDatabase>
{

    [Fact]
    public async Task Geo_headers_from_a_peer_that_is_not_a_trusted_proxy_are_ignored()
    {
        // This gateway trusts only a network the test is not in: anyone could forge these headers.
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 1,
            new() { ["CALLMESH_TRUSTED_PROXIES"] = "10.99.0.0/16" });
        await DemoSeeder.SeedAsync(cluster.Http, cluster.SigningKeyHex, Repo.DemoBrandFile);
        using var response = await cluster.DniSessionAsync("http://127.0.0.1:9999/", ["+18005550100"], configure: r =>
        {
            r.Headers.Add("cf-iplatitude", "33.05");
            r.Headers.Add("cf-iplongitude", "-96.84");
            r.Headers.Add("CloudFront-Viewer-Latitude", "33.05");
            r.Headers.Add("CloudFront-Viewer-Longitude", "-96.84");
        });

        var swap = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0];
        Assert.Equal("brand-pool", swap.GetProperty("resolvedBy").GetString());
    }
}
