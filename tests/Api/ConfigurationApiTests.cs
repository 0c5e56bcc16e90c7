using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Silo.Hosting;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>Creating and changing tenants and locations through the gateway; bad input changes nothing.</summary>
[Collection(ProcessTests.Name)]
public sealed class ConfigurationApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private ProcessCluster Cluster => fixture.Cluster;

    private static object NewLocation(string napPhone = "+13125550101", string timeZone = "America/Chicago") => new
    {
        name = "Lakeview",
        address = new { line1 = "3100 N Clark St", city = "Chicago", region = "IL", postalCode = "60657", country = "US" },
        napPhone,
        forwardTo = "+13125550102",
        timeZone,
        businessHours = new[] { new { day = "mon", open = "08:00", close = "17:00" } },
        geo = new { lat = 41.9397, lon = -87.6447 },
        serviceRadiusMiles = 10,
        market = "chicago",
        pagePatterns = new[] { "/locations/lakeview/*" },
    };

    private async Task<string> NewTenant()
    {
        var id = $"brand-{Guid.NewGuid():N}"[..14];
        using var created = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{id}", Cluster.Token(null, Roles.PlatformAdmin),
            new { name = "Windy City Dental", timeZone = "America/Chicago", currency = "USD", defaultConversionRules = new { minDurationSeconds = 90 } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/v1/tenants/{id}", created.Headers.Location?.ToString());
        return id;
    }

    [Fact]
    public async Task A_platform_admin_creates_a_tenant_and_its_brand_admin_adds_a_location()
    {
        var tenant = await NewTenant();
        var admin = Cluster.Token(tenant, Roles.BrandAdmin);

        using var read = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}", admin);
        var body = await read.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(90, body.GetProperty("defaultConversionRules").GetProperty("minDurationSeconds").GetInt32());

        using var created = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/locations/lakeview", admin, NewLocation());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var replaced = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/locations/lakeview", admin, NewLocation(napPhone: "+13125550109"));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);

        using var location = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/locations/lakeview", admin);
        var stored = await location.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("+13125550109", stored.GetProperty("napPhone").GetString());
        Assert.Equal("chicago", stored.GetProperty("market").GetString());

        using var audit = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/audit", admin);
        var entries = (await audit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items");
        Assert.Equal(["location", "location", "tenant"], entries.EnumerateArray().Select(e => e.GetProperty("entity").GetString()));
        Assert.Equal("test-brand-admin", entries[0].GetProperty("actor").GetString());
    }

    [Fact]
    public async Task Invalid_fields_are_named_in_a_400_and_nothing_is_stored()
    {
        var tenant = await NewTenant();
        var admin = Cluster.Token(tenant, Roles.BrandAdmin);

        using var response = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/locations/lakeview", admin,
            NewLocation(napPhone: "312-555-0101", timeZone: "Chicago"));

        var problem = await ProblemAssert.Is(response, HttpStatusCode.BadRequest, "validation");
        Assert.Equal(["napPhone", "timeZone"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
        using var missing = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/locations/lakeview", admin);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(1, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.config_audit WHERE tenant_id = $1", tenant));
    }

    [Fact]
    public async Task Malformed_bodies_and_bad_ids_are_400_problems()
    {
        var tenant = await NewTenant();
        var admin = Cluster.Token(tenant, Roles.BrandAdmin);

        using var notJson = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/locations/lakeview", admin,
            new StringContent("{\"name\": ", Encoding.UTF8, "application/json"));
        await ProblemAssert.Is(notJson, HttpStatusCode.BadRequest, "malformed-request");
        using var badId = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/locations/Lake%20View", admin, NewLocation());
        var problem = await ProblemAssert.Is(badId, HttpStatusCode.BadRequest, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty("location", out _));
        using var noTenant = await Cluster.SendAsync(HttpMethod.Put, "/v1/tenants/no-such-brand/locations/x", Cluster.Token(null, Roles.PlatformAdmin), NewLocation());
        await ProblemAssert.Is(noTenant, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task A_null_in_a_list_body_is_a_problem_a_NUL_in_a_path_a_400_and_long_error_lists_are_cut()
    {
        var tenant = await NewTenant();
        var admin = Cluster.Token(tenant, Roles.BrandAdmin);

        using var nullItem = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant}/numbers", admin,
            new StringContent("[null]", Encoding.UTF8, "application/json"));
        await ProblemAssert.Is(nullItem, HttpStatusCode.BadRequest, "validation", "[0]");
        // Kestrel refuses an encoded NUL in the path itself, before any middleware could write a problem: a bare 400.
        using var nulInPath = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/calls/%00", admin);
        Assert.Equal(HttpStatusCode.BadRequest, nulInPath.StatusCode);

        // 2,000 bad numbers: the problem lists the first 50 and counts the rest.
        var bad = Enumerable.Range(0, 2000).Select(i => new { number = $"555-{i:D4}", carrier = "twilio" }).ToList();
        using var many = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant}/numbers", admin, bad);
        var problem = await ProblemAssert.Is(many, HttpStatusCode.BadRequest, "validation");
        Assert.Equal(50, problem.GetProperty("errors").EnumerateObject().Count());
        Assert.Equal(1950, problem.GetProperty("unlistedErrors").GetInt32());
        Assert.Equal(0, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.tracking_numbers WHERE tenant_id = $1", tenant));
    }

    /// <summary>
    /// A NUL must be refused before any statement sees it: refused by PostgreSQL while Npgsql auto-prepares the statement,
    /// it leaves that pooled connection out of step and the next command there fails (a 500 to someone else).
    /// </summary>
    [Fact]
    public async Task A_NUL_in_a_JSON_string_a_query_or_a_CSV_is_refused_before_the_database_and_later_requests_all_succeed()
    {
        var tenant = await NewTenant();
        var admin = Cluster.Token(tenant, Roles.BrandAdmin);
        static async Task RefusedForNul(HttpResponseMessage response)
        {
            var problem = await ProblemAssert.Is(response, HttpStatusCode.BadRequest, "malformed-request");
            Assert.Contains(StorableText.Title, problem.GetProperty("title").GetString() + " " +
                (problem.TryGetProperty("detail", out var detail) ? detail.GetString() : ""));
        }

        for (var i = 0; i < 6; i++)
        {
            using (var json = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/blocked-callers/%2B1312555{i:D4}", admin,
                       new StringContent("{\"reason\": \"spam\\u0000\"}", Encoding.UTF8, "application/json")))
                await RefusedForNul(json);
            using (var query = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/calls?source=a%00b", admin))
                await RefusedForNul(query);
            using (var csv = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant}/spend", admin,
                       new StringContent("date,cost,campaign\n2026-11-02,5,a\0b\n", Encoding.UTF8, "text/csv")))
                await RefusedForNul(csv);
            using (var blocked = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/blocked-callers", admin))
                Assert.Equal(HttpStatusCode.OK, blocked.StatusCode);
            using (var calls = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/calls?source=google", admin))
                Assert.Equal(HttpStatusCode.OK, calls.StatusCode);
        }
        Assert.Equal(0, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.blocked_callers WHERE tenant_id = $1", tenant));
    }

    [Fact]
    public async Task A_flood_of_malformed_bodies_is_a_few_warning_lines_not_a_stack_trace_each()
    {
        var tenant = await NewTenant();
        var admin = Cluster.Token(tenant, Roles.BrandAdmin);
        var marker = $"/v1/tenants/{tenant}/locations/flood";
        for (var i = 0; i < 40; i++)
        {
            using var junk = await Cluster.SendAsync(HttpMethod.Put, marker, admin, new StringContent("{\"name\": ", Encoding.UTF8, "application/json"));
            await ProblemAssert.Is(junk, HttpStatusCode.BadRequest, "malformed-request");
        }

        await Task.Delay(500);   // the console logger writes behind
        var lines = Cluster.SiloLogs().Split('\n');
        var warnings = lines.Where(l => l.Contains(marker) && l.Contains("malformed-request")).ToList();
        Assert.InRange(warnings.Count, 1, 10);   // one a second per kind, whatever the request rate
        Assert.DoesNotContain(lines, l => l.Contains("BadHttpRequestException") && !l.Contains(marker));
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at Microsoft.AspNetCore.Http.RequestDelegateFactory", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Oversized_bodies_are_refused_at_the_gateway()
    {
        var tenant = await NewTenant();
        var huge = new StringContent($"{{\"name\": \"{new string('x', 2 * 1024 * 1024)}\"}}", Encoding.UTF8, "application/json");

        using var response = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/locations/big", Cluster.Token(tenant, Roles.BrandAdmin), huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task The_gateway_serves_readiness_and_the_OpenAPI_document()
    {
        using var ready = await Cluster.Http.GetAsync("/health/ready");
        Assert.Equal(2, (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("healthySilos").GetInt32());

        using var openApi = await Cluster.Http.GetAsync("/openapi/v1.json");
        var document = await openApi.Content.ReadFromJsonAsync<JsonElement>();
        var paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/v1/tenants/{tenant}/locations/{location}", out var location));

        // Handlers return typed results: every operation documents its success and its problems, and a JSON success its schema.
        var undocumented = new List<string>();
        foreach (var path in paths.EnumerateObject())
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "get" or "put" or "post" or "patch" or "delete"))
            {
                var responses = operation.Value.GetProperty("responses").EnumerateObject().ToList();
                if (!responses.Any(r => r.Name.StartsWith('2'))) undocumented.Add($"{operation.Name} {path.Name}: no success");
                foreach (var success in responses.Where(r => r.Name is "200" or "201" or "202"))
                    if (success.Value.TryGetProperty("content", out var content) && content.TryGetProperty("application/json", out var json)
                        && !json.TryGetProperty("schema", out _))
                        undocumented.Add($"{operation.Name} {path.Name}: {success.Name} without a schema");
            }
        Assert.True(undocumented.Count == 0, string.Join("\n", undocumented));
        var put = location.GetProperty("put").GetProperty("responses");
        Assert.Contains("LocationResource", put.GetProperty("201").GetRawText());
        Assert.True(put.TryGetProperty("400", out _) && put.TryGetProperty("200", out _));
        var list = paths.GetProperty("/v1/tenants/{tenant}/calls").GetProperty("get").GetProperty("responses");
        Assert.Contains("CallPage", list.GetProperty("200").GetRawText());
    }

    [Fact]
    public async Task Static_numbers_belong_to_one_location_and_medium_and_never_to_a_pool()
    {
        var tenant = await NewTenant();
        var admin = Cluster.Token(tenant, Roles.BrandAdmin);
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/locations/lakeview", admin, NewLocation())).EnsureSuccessStatusCode();
        var numbers = DniSetup.NewNumbers(3);
        (await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant}/numbers", admin, numbers.Select(n => new { number = n, carrier = "twilio" }))).EnsureSuccessStatusCode();
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/pools/web", admin, new { location = "lakeview", numbers = new[] { numbers[2] } })).EnsureSuccessStatusCode();
        var path = $"/v1/tenants/{tenant}/locations/lakeview/static-numbers";

        using var created = await Cluster.SendAsync(HttpMethod.Put, $"{path}/billboard-i94", admin,
            new { number = numbers[0], medium = "billboard", label = "I-94 eastbound", source = "lamar", campaign = "spring" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var badMedium = await Cluster.SendAsync(HttpMethod.Put, $"{path}/radio", admin, new { number = numbers[1], medium = "skywriting" });
        await ProblemAssert.Is(badMedium, HttpStatusCode.BadRequest, "validation");
        using var poolNumber = await Cluster.SendAsync(HttpMethod.Put, $"{path}/radio", admin, new { number = numbers[2], medium = "radio" });
        Assert.Contains("used by pool 'web'", (await ProblemAssert.Is(poolNumber, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").GetProperty("number")[0].GetString());
        using var intoPool = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/pools/web", admin, new { location = "lakeview", numbers = new[] { numbers[2], numbers[0] } });
        Assert.Contains("static number", (await ProblemAssert.Is(intoPool, HttpStatusCode.BadRequest, "validation")).GetRawText());
        using var byManager = await Cluster.SendAsync(HttpMethod.Put, $"{path}/radio", Cluster.Token(tenant, Roles.LocationManager, locations: ["lakeview"]),
            new { number = numbers[1], medium = "radio" });
        await ProblemAssert.Is(byManager, HttpStatusCode.Forbidden, "forbidden");

        var list = await (await Cluster.SendAsync(HttpMethod.Get, path, Cluster.Token(tenant, Roles.LocationManager, locations: ["lakeview"])))
            .Content.ReadFromJsonAsync<JsonElement>();
        var only = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal((numbers[0], "billboard", "lamar"), (only.GetProperty("number").GetString(), only.GetProperty("medium").GetString(), only.GetProperty("source").GetString()));
        using var hidden = await Cluster.SendAsync(HttpMethod.Get, path, Cluster.Token(tenant, Roles.LocationManager, locations: ["elsewhere"]));
        await ProblemAssert.Is(hidden, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Pools_and_sites_are_listed_in_the_callers_scope_and_brand_admins_set_the_brands_conversion_rules()
    {
        var tenant = await NewTenant();
        var admin = Cluster.Token(tenant, Roles.BrandAdmin);
        var manager = Cluster.Token(tenant, Roles.LocationManager, locations: ["lakeview"]);
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/locations/lakeview", admin, NewLocation())).EnsureSuccessStatusCode();
        var numbers = DniSetup.NewNumbers(3);
        (await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant}/numbers", admin, numbers.Select(n => new { number = n, carrier = "twilio" }))).EnsureSuccessStatusCode();
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/pools/lakeview-web", admin, new { location = "lakeview", numbers = new[] { numbers[0] } })).EnsureSuccessStatusCode();
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/pools/brand", admin, new { numbers = new[] { numbers[1], numbers[2] } })).EnsureSuccessStatusCode();
        var siteKey = $"site-{Guid.NewGuid():N}"[..16];
        (await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/sites/{siteKey}", admin, new { domains = new[] { "www.windycity.example" } })).EnsureSuccessStatusCode();

        async Task<JsonElement> Read(string path, string token)
        {
            using var response = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}{path}", token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }
        static string[] Ids(JsonElement list, string field) => [.. list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty(field).GetString()!)];

        var pools = await Read("/pools", admin);
        Assert.Equal(["brand", "lakeview-web"], Ids(pools, "id"));
        Assert.Equal(2, pools.GetProperty("items")[0].GetProperty("numbers").GetArrayLength());
        Assert.Equal(["lakeview-web"], Ids(await Read("/pools", manager), "id"));   // a manager sees its location's pool only
        Assert.Empty(Ids(await Read("/pools", Cluster.Token(tenant, Roles.LocationManager, locations: ["elsewhere"])), "id"));
        Assert.Equal([siteKey], Ids(await Read("/sites", admin), "siteKey"));
        using (var sitesByManager = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/sites", manager))
            Assert.True(sitesByManager.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound);
        using (var otherTenant = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/pools", Cluster.Token("someone-else", Roles.BrandAdmin)))
            await ProblemAssert.Is(otherTenant, HttpStatusCode.NotFound, "not-found");

        // The brand's default rules: brand admins replace them alone; bad ones are named and change nothing.
        var rules = $"/v1/tenants/{tenant}/conversion-rules";
        using (var bad = await Cluster.SendAsync(HttpMethod.Put, rules, admin, new { minDurationSeconds = -5, outcomes = new[] { "sale", "lunch" } }))
        {
            var problem = await ProblemAssert.Is(bad, HttpStatusCode.BadRequest, "validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty("defaultConversionRules.minDurationSeconds", out _), problem.GetRawText());
            Assert.True(problem.GetProperty("errors").TryGetProperty("defaultConversionRules.outcomes[1]", out _), problem.GetRawText());
        }
        Assert.Equal(90, (await Read("", admin)).GetProperty("defaultConversionRules").GetProperty("minDurationSeconds").GetInt32());
        using (var byManager = await Cluster.SendAsync(HttpMethod.Put, rules, manager, new { requireAnswered = true }))
            await ProblemAssert.Is(byManager, HttpStatusCode.Forbidden, "forbidden");
        using (var saved = await Cluster.SendAsync(HttpMethod.Put, rules, admin, new { requireAnswered = true, minDurationSeconds = 30, outcomes = new[] { "sale" } }))
            Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        var tenantNow = await Read("", admin);
        var stored = tenantNow.GetProperty("defaultConversionRules");
        Assert.Equal((true, 30, "sale"), (stored.GetProperty("requireAnswered").GetBoolean(), stored.GetProperty("minDurationSeconds").GetInt32(),
            stored.GetProperty("outcomes")[0].GetString()));
        Assert.Equal("Windy City Dental", tenantNow.GetProperty("name").GetString());   // the rest of the tenant is kept
        var audit = await Read("/audit", admin);
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetRawText().Contains("conversion-rules"));
    }
}
