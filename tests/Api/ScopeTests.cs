using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Silo.Api;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>Roles and scopes of the contract, through the real gateway and silos.</summary>
[Collection(ProcessTests.Name)]
public sealed class ScopeTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private const string Tenant = "bluebonnet";
    private ProcessCluster Cluster => fixture.Cluster;

    private async Task<string[]> ListIds(string token, string tenant = Tenant)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/locations", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var list = await response.Content.ReadFromJsonAsync<LocationsApi.LocationList>(JsonSerializerOptions.Web);
        Assert.Equal(list!.Count, list.Items.Count);
        return list.Items.Select(l => l.Id).ToArray();
    }

    [Fact]
    public async Task A_brand_admin_and_an_analyst_see_every_location()
    {
        var admin = await ListIds(Cluster.Token(Tenant, Roles.BrandAdmin));
        var analyst = await ListIds(Cluster.Token(Tenant, Roles.Analyst));

        Assert.Equal(24, admin.Length);
        Assert.Equal(admin, analyst);
    }

    [Fact]
    public async Task A_location_manager_sees_only_its_own_locations()
    {
        var token = Cluster.Token(Tenant, Roles.LocationManager, locations: ["austin-downtown", "katy"]);

        Assert.Equal(["austin-downtown", "katy"], await ListIds(token));
        using var own = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations/katy", token);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        using var other = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations/plano", token);
        await ProblemAssert.Is(other, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task A_market_manager_sees_the_locations_of_its_markets()
    {
        var ids = await ListIds(Cluster.Token(Tenant, Roles.MarketManager, markets: ["dfw"]));

        Assert.Equal(["arlington", "dallas-uptown", "fort-worth", "frisco", "garland", "irving", "plano"], ids);
    }

    [Fact]
    public async Task Another_tenants_token_finds_nothing_and_changes_nothing()
    {
        var outsider = Cluster.Token("other-brand", Roles.BrandAdmin);

        using var list = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations", outsider);
        await ProblemAssert.Is(list, HttpStatusCode.NotFound, "not-found");
        using var one = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations/plano", outsider);
        await ProblemAssert.Is(one, HttpStatusCode.NotFound, "not-found");
        using var put = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/plano", outsider, await Location("plano", forwardTo: "+12145550188"));
        await ProblemAssert.Is(put, HttpStatusCode.NotFound, "not-found");
        using var tenant = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}", outsider);
        await ProblemAssert.Is(tenant, HttpStatusCode.NotFound, "not-found");

        Assert.Equal(DemoForwardTo("plano"), (await Location("plano"))["forwardTo"]!.ToString());
    }

    [Fact]
    public async Task Readers_may_not_write_and_their_writes_change_nothing()
    {
        var analyst = Cluster.Token(Tenant, Roles.Analyst);
        var manager = Cluster.Token(Tenant, Roles.LocationManager, locations: ["plano"]);
        var change = await Location("plano", forwardTo: "+12145550177");

        using var byAnalyst = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/plano", analyst, change);
        await ProblemAssert.Is(byAnalyst, HttpStatusCode.Forbidden, "forbidden");
        using var byManager = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/plano", manager, change);
        await ProblemAssert.Is(byManager, HttpStatusCode.Forbidden, "forbidden");
        using var elsewhere = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/katy", manager, change);
        await ProblemAssert.Is(elsewhere, HttpStatusCode.NotFound, "not-found");
        using var tenantByBrandAdmin = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}", Cluster.Token(Tenant, Roles.BrandAdmin),
            new { name = "Renamed", timeZone = "America/Chicago", currency = "USD" });
        await ProblemAssert.Is(tenantByBrandAdmin, HttpStatusCode.Forbidden, "forbidden");

        Assert.Equal(DemoForwardTo("plano"), (await Location("plano"))["forwardTo"]!.ToString());
        Assert.Equal(["austin-downtown"], (await ListIds(Cluster.Token(Tenant, Roles.LocationManager, locations: ["austin-downtown"]))));
    }

    [Fact]
    public async Task Requests_without_a_valid_token_are_401_at_the_gateway()
    {
        using var none = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations", token: null);
        await ProblemAssert.Is(none, HttpStatusCode.Unauthorized, "unauthorized");
        var forged = UserTokens.Mint(Convert.ToHexString(new byte[32]), Tenant, Roles.BrandAdmin);
        using var wrongKey = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations", forged);
        await ProblemAssert.Is(wrongKey, HttpStatusCode.Unauthorized, "unauthorized");
        var expired = UserTokens.Mint(Cluster.SigningKeyHex, Tenant, Roles.BrandAdmin, lifetime: TimeSpan.FromMinutes(-5));
        using var old = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations", expired);
        await ProblemAssert.Is(old, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task The_silo_enforces_scope_itself_when_reached_directly()
    {
        using var silo = new HttpClient { BaseAddress = Cluster.SiloUrls[0] };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations/plano");
        request.Headers.Authorization = new("Bearer", Cluster.Token(Tenant, Roles.LocationManager, locations: ["katy"]));
        using var response = await silo.SendAsync(request);
        await ProblemAssert.Is(response, HttpStatusCode.NotFound, "not-found");
        using var anonymous = await silo.GetAsync($"/v1/tenants/{Tenant}/locations");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Importing_another_tenants_number_is_refused_without_telling_which_number_and_imports_nothing()
    {
        var rival = $"rival-{Guid.NewGuid():N}"[..14];
        using (var created = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{rival}", Cluster.Token(null, Roles.PlatformAdmin),
                   new { name = "Rival", timeZone = "America/Chicago", currency = "USD" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var admin = Cluster.Token(rival, Roles.BrandAdmin);
        const string demoPoolNumber = "+15125550110";

        using var import = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{rival}/numbers", admin,
            new[] { new { number = "+15127770101", carrier = "twilio" }, new { number = demoPoolNumber, carrier = "twilio" } });

        await ProblemAssert.Is(import, HttpStatusCode.Conflict, "number-taken");
        Assert.DoesNotContain(demoPoolNumber, await import.Content.ReadAsStringAsync());
        using var list = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{rival}/numbers", admin);
        Assert.Equal(0, (await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Every_route_is_rate_limited_per_client_address_and_a_malformed_key_goes_no_further_than_the_gateway()
    {
        // The test gateway allows 3,000 a minute per address: one client sending 3,600 is stopped, anonymous or not.
        var client = $"198.18.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}";
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        await Parallel.ForAsync(0, 3_600, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, _) =>
        {
            using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations", null,
                configure: r => r.Headers.Add("X-Forwarded-For", client));
            statuses.Add(response.StatusCode);
        });
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.Unauthorized), 3_000, 3_599);
        // Another address is served meanwhile.
        using (var other = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations", Cluster.Token(Tenant, Roles.BrandAdmin),
                   configure: r => r.Headers.Add("X-Forwarded-For", "198.19.0.1")))
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        foreach (var malformed in new[] { "cmk_zz", "cmk_" + new string('a', 16) + "_short", "cmk_" + new string('a', 200) })
        {
            using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls", malformed);
            await ProblemAssert.Is(response, HttpStatusCode.Unauthorized, "unauthorized");
        }
    }

    [Fact]
    public async Task Silos_offer_no_Orleans_client_gateway_so_grains_are_reached_only_through_the_checked_HTTP_API()
    {
        // Every silo's membership row says which client gateway port it opened: none (0), so no one can connect an
        // Orleans client and call grains around the API's checks.
        var proxyPorts = await fixture.Database.Scalar<int[]>(
            "SELECT array_agg(DISTINCT proxy_port) FROM orleans.membership_member WHERE status = 3");
        Assert.Equal([0], proxyPorts!);
    }

    [Fact]
    public async Task Tokens_from_the_command_line_are_trusted_by_the_deployment()
    {
        var info = new ProcessStartInfo("dotnet", [Repo.SiloDll, "token", "--key", Cluster.SigningKeyHex,
            "--tenant", Tenant, "--role", "location-manager", "--locations", "plano,frisco"])
        { RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        var token = (await process.StandardOutput.ReadToEndAsync()).Trim();
        await process.WaitForExitAsync();

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(["frisco", "plano"], await ListIds(token));
    }

    private static string DemoForwardTo(string id) =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Repo.DemoBrandFile))!["locations"]!.AsArray()
            .Single(l => (string)l!["id"]! == id)!["forwardTo"]!.ToString();

    private async Task<JsonElement> LocationJson(string id)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations/{id}", Cluster.Token(Tenant, Roles.BrandAdmin));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The stored location as a mutable JSON object, optionally with another forward number.</summary>
    private async Task<System.Text.Json.Nodes.JsonObject> Location(string id, string? forwardTo = null)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse((await LocationJson(id)).GetRawText())!.AsObject();
        if (forwardTo is not null) node["forwardTo"] = forwardTo;
        return node;
    }
}
