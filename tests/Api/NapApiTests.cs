using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>Citations, the NAP audit and the page lint through the gateway, on the demo brand.</summary>
[Collection(ProcessTests.Name)]
public sealed class NapApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private const string Tenant = "bluebonnet";
    private ProcessCluster Cluster => fixture.Cluster;
    private string Admin => Cluster.Token(Tenant, Roles.BrandAdmin);

    private static object Listing(string url, string publisher, string phone, string name = "Bluebonnet Home Services - Downtown Austin",
        string address = "401 Congress Avenue, Austin, Texas 78701") => new { url, publisher, name, address, phone };

    private async Task<JsonElement> Get(string path, string token)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, path, token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task The_audit_finds_a_leaked_pool_number_and_mismatches_in_the_callers_scope_only()
    {
        var citations = $"/v1/tenants/{Tenant}/locations/austin-downtown/citations";
        using (var gbp = await Cluster.SendAsync(HttpMethod.Put, $"{citations}/gbp", Admin, Listing("https://maps.google.example/?cid=1", "Google", "(512) 555-0180")))
            Assert.Equal(HttpStatusCode.Created, gbp.StatusCode);
        // A directory scraped the page while a server-side swap showed a session number: Austin's pool number +15125550112.
        (await Cluster.SendAsync(HttpMethod.Put, $"{citations}/yellowpages", Admin, Listing("https://www.yp.example/austin/bluebonnet", "YellowPages", "512.555.0112"))).EnsureSuccessStatusCode();
        (await Cluster.SendAsync(HttpMethod.Put, $"{citations}/bbb", Admin,
            Listing("https://bbb.example/bluebonnet", "BBB", "+15125550101", name: "Bluebonnet Plumbing", address: "500 Congress Ave, Austin, TX 78701"))).EnsureSuccessStatusCode();
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/katy/citations/yelp", Admin,
            Listing("https://yelp.example/biz/bluebonnet-katy", "Yelp", "+12815550116", name: "Bluebonnet Home Services – Katy", address: "x"))).EnsureSuccessStatusCode();

        var austin = await Get($"/v1/tenants/{Tenant}/locations/austin-downtown/nap/audit", Cluster.Token(Tenant, Roles.LocationManager, ["austin-downtown"]));
        var findings = austin.GetProperty("findings").EnumerateArray().Select(f => (f.GetProperty("citation").GetString(), f.GetProperty("code").GetString(), f.GetProperty("severity").GetString())).ToList();
        Assert.Equal(("yellowpages", "pool-number-published", "critical"), findings[0]);   // critical first
        Assert.Equal(1, austin.GetProperty("critical").GetInt32());
        Assert.Contains(("bbb", "name-mismatch", "warning"), findings);
        Assert.Contains(("bbb", "address-mismatch", "warning"), findings);
        Assert.DoesNotContain(findings, f => f.Item1 == "gbp");   // the approved GBP number, the address in another form

        // Scope: Katy's manager sees neither Austin's audit nor its findings in the tenant-wide one.
        var katyManager = Cluster.Token(Tenant, Roles.LocationManager, ["katy"]);
        using (var hidden = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/locations/austin-downtown/nap/audit", katyManager))
            await ProblemAssert.Is(hidden, HttpStatusCode.NotFound, "not-found");
        var katyOnly = await Get($"/v1/tenants/{Tenant}/nap/audit", katyManager);
        Assert.Equal(1, katyOnly.GetProperty("locations").GetInt32());
        Assert.All(katyOnly.GetProperty("findings").EnumerateArray(), f => Assert.Equal("katy", f.GetProperty("location").GetString()));
        Assert.Contains(katyOnly.GetProperty("findings").EnumerateArray(), f => f.GetProperty("code").GetString() == "pool-number-published");
        var brand = await Get($"/v1/tenants/{Tenant}/nap/audit", Admin);
        Assert.Equal(2, brand.GetProperty("critical").GetInt32());
        Assert.Equal(24, brand.GetProperty("locations").GetInt32());
    }

    [Fact]
    public async Task Bad_citations_are_400_and_change_nothing_and_managers_may_not_write()
    {
        var path = $"/v1/tenants/{Tenant}/locations/round-rock/citations";
        (await Cluster.SendAsync(HttpMethod.Put, $"{path}/angi", Admin, Listing("https://angi.example/rr", "Angi", "+15125550103"))).EnsureSuccessStatusCode();

        using var badPhone = await Cluster.SendAsync(HttpMethod.Put, $"{path}/angi", Admin, Listing("https://angi.example/rr", "Angi", "555-CALL-NOW"));
        Assert.True((await ProblemAssert.Is(badPhone, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("phone", out _));
        using var badUrl = await Cluster.SendAsync(HttpMethod.Put, $"{path}/angi", Admin, Listing("javascript:alert(1)", "Angi", "+15125550103"));
        Assert.True((await ProblemAssert.Is(badUrl, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("url", out _));
        using var noLocation = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/locations/atlantis/citations/angi", Admin, Listing("https://angi.example/a", "Angi", "+15125550103"));
        await ProblemAssert.Is(noLocation, HttpStatusCode.NotFound, "not-found");
        using var byManager = await Cluster.SendAsync(HttpMethod.Put, $"{path}/angi", Cluster.Token(Tenant, Roles.LocationManager, ["round-rock"]),
            Listing("https://angi.example/rr", "Angi", "+15125550199"));
        await ProblemAssert.Is(byManager, HttpStatusCode.Forbidden, "forbidden");

        var stored = Assert.Single((await Get(path, Admin)).GetProperty("items").EnumerateArray());
        Assert.Equal(("+15125550103", "https://angi.example/rr"), (stored.GetProperty("phone").GetString(), stored.GetProperty("url").GetString()));
        using (var removed = await Cluster.SendAsync(HttpMethod.Delete, $"{path}/angi", Admin)) Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal(0, (await Get(path, Admin)).GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task The_page_lint_reports_a_pool_number_cached_into_the_html_and_structured_data_that_is_not_the_nap()
    {
        const string html = """
            <html><head><script type="application/ld+json">{"@type":"Plumber","telephone":"+1 512 555 0180"}</script></head>
            <body><div itemscope><span itemprop="telephone">(512) 555-0101</span></div>
            <p>Call <a href="tel:+15125550113">(512) 555-0113</a></p></body></html>
            """;
        using var response = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/nap/lint", Admin, new { html, location = "austin-downtown" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("static", report.GetProperty("jsonLd")[0].GetProperty("kind").GetString());
        Assert.Equal(("nap", "austin-downtown"), (report.GetProperty("microdata")[0].GetProperty("kind").GetString(), report.GetProperty("microdata")[0].GetProperty("location").GetString()));
        var codes = report.GetProperty("findings").EnumerateArray().Select(f => (f.GetProperty("code").GetString(), f.GetProperty("severity").GetString())).ToList();
        Assert.Equal([("pool-number-in-html", "critical"), ("structured-data-not-nap", "warning")], codes);

        using var empty = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/nap/lint", Admin, new { html = "" });
        await ProblemAssert.Is(empty, HttpStatusCode.BadRequest, "validation");
        using var manager = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/nap/lint", Cluster.Token(Tenant, Roles.LocationManager, ["katy"]), new { html });
        await ProblemAssert.Is(manager, HttpStatusCode.NotFound, "not-found");
        using var otherTenant = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/nap/lint", Cluster.Token("someone-else", Roles.BrandAdmin), new { html });
        await ProblemAssert.Is(otherTenant, HttpStatusCode.NotFound, "not-found");
    }
}
