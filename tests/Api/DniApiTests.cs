using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>The anonymous DNI endpoints through the real gateway, as a browser on a brand's site calls them.</summary>
[Collection(ProcessTests.Name)]
public sealed class DniApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private const string Site = "bluebonnet-web";
    private const string AustinNap = "+15125550101";
    private ProcessCluster Cluster => fixture.Cluster;

    private static int _client;

    /// <summary>Each call looks like its own browser (X-Forwarded-For from the trusted loopback proxy).</summary>
    private static string NewClientIp() => $"203.0.113.{Interlocked.Increment(ref _client) % 250 + 1}";

    /// <summary>Posts as the script does: the site key in the query (the gateway's limits) and the body; <paramref name="siteKey"/> sets the query's.</summary>
    private Task<HttpResponseMessage> PostSession(object body, string? origin = "http://127.0.0.1:9999", string? clientIp = null, string? siteKey = null)
    {
        siteKey ??= body is string ? Site : JsonSerializer.SerializeToElement(body).TryGetProperty("siteKey", out var key) ? key.GetString() : Site;
        var content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "text/plain");
        return Cluster.SendAsync(HttpMethod.Post, $"/v1/dni/sessions?siteKey={siteKey}", null, content, request =>
        {
            if (origin is not null) request.Headers.Add("Origin", origin);
            request.Headers.Add("X-Forwarded-For", clientIp ?? NewClientIp());
        });
    }

    private Task<long> LeaseRows() => fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.number_leases");

    [Fact]
    public async Task A_page_on_the_sites_domain_gets_tracking_numbers_with_CORS_for_its_origin()
    {
        using var response = await PostSession(new { siteKey = Site, url = "http://127.0.0.1:9999/locations/austin-downtown?gclid=T1", targets = new[] { AustinNap, "+18005550100" } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("http://127.0.0.1:9999", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var swaps = body.GetProperty("swaps").EnumerateArray().ToDictionary(s => s.GetProperty("target").GetString()!);
        Assert.Equal("austin-downtown", swaps[AustinNap].GetProperty("location").GetString());
        Assert.StartsWith("+1512555011", swaps[AustinNap].GetProperty("number").GetString());
        Assert.Matches(@"^\(512\) 555-011\d$", swaps[AustinNap].GetProperty("display").GetString());
        // On Austin's location page the brand line is Austin's too: the same pool, so the same number.
        Assert.Equal("page", swaps["+18005550100"].GetProperty("resolvedBy").GetString());
        Assert.Equal(swaps[AustinNap].GetProperty("number").GetString(), swaps["+18005550100"].GetProperty("number").GetString());
        // New visitors and sessions get time-ordered ids (UUIDv7), so their index entries are appended, not scattered.
        Assert.Equal(7, body.GetProperty("visitorId").GetGuid().Version);
        Assert.Equal(7, body.GetProperty("sessionId").GetGuid().Version);

        using var preflight = await Cluster.SendAsync(HttpMethod.Options, "/v1/dni/sessions", null, configure: r =>
        {
            r.Headers.Add("Origin", "http://127.0.0.1:9999");
            r.Headers.Add("Access-Control-Request-Method", "POST");
        });
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Contains("POST", preflight.Headers.GetValues("Access-Control-Allow-Methods").Single());
    }

    [Fact]
    public async Task Crawlers_get_no_lease_and_the_page_keeps_its_numbers()
    {
        var before = await LeaseRows();
        using var response = await Cluster.SendAsync(HttpMethod.Post, $"/v1/dni/sessions?siteKey={Site}", null,
            JsonContent.Create(new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { AustinNap } }),
            r => r.Headers.Add("User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps").EnumerateArray());
        Assert.Equal(before, await LeaseRows());
    }

    public static TheoryData<string, object, HttpStatusCode, string, string?> BadRequests => new()
    {
        { "unknown site key", new { siteKey = "no-such-site", url = "http://127.0.0.1:9999/", targets = new[] { AustinNap } }, HttpStatusCode.NotFound, "unknown-site-key", null },
        { "site key unlike the query's", new { siteKey = "other-site", url = "http://127.0.0.1:9999/", targets = new[] { AustinNap }, query = Site }, HttpStatusCode.BadRequest, "validation", "siteKey" },
        { "page off the site", new { siteKey = Site, url = "https://evil.example/", targets = new[] { AustinNap } }, HttpStatusCode.Forbidden, "origin-not-allowed", null },
        { "not E.164", new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { "512-555-0101" } }, HttpStatusCode.BadRequest, "validation", "targets[0]" },
        { "no such number", new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { "+15121230101" } }, HttpStatusCode.BadRequest, "validation", "targets[0]" },
        { "script URL", new { siteKey = Site, url = "javascript:alert(1)", targets = new[] { AustinNap } }, HttpStatusCode.BadRequest, "validation", "url" },
        { "bad visitor id", new { siteKey = Site, visitorId = "me", url = "http://127.0.0.1:9999/", targets = new[] { AustinNap } }, HttpStatusCode.BadRequest, "validation", "visitorId" },
        { "too many targets", new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = Enumerable.Repeat(AustinNap, 21).ToArray() }, HttpStatusCode.BadRequest, "validation", "targets" },
        { "not a ZIP code", new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { AustinNap }, geo = new { postalCode = "ABCDE" } }, HttpStatusCode.BadRequest, "validation", "geo.postalCode" },
        { "not JSON", "{\"siteKey\": ", HttpStatusCode.BadRequest, "malformed-request", null },
        { "oversized", new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { AustinNap }, pad = new string('x', 20_000) }, HttpStatusCode.RequestEntityTooLarge, "malformed-request", null },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_a_problem_and_lease_nothing(string because, object body, HttpStatusCode status, string code, string? field)
    {
        var before = await LeaseRows();

        var query = body is string ? null : JsonSerializer.SerializeToElement(body).TryGetProperty("query", out var q) ? q.GetString() : null;
        using var response = await PostSession(body, siteKey: query);

        var problem = await ProblemAssert.Is(response, status, code);
        if (field is not null) Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{because}: {problem}");
        Assert.Equal(before, await LeaseRows());
    }

    [Fact]
    public async Task A_browser_on_another_origin_is_refused()
    {
        var before = await LeaseRows();
        using var response = await PostSession(new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { AustinNap } }, origin: "https://evil.example");

        await ProblemAssert.Is(response, HttpStatusCode.Forbidden, "origin-not-allowed");
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(before, await LeaseRows());
    }

    [Fact]
    public async Task Allocation_is_rate_limited_per_client_address_and_per_site_key()
    {
        var body = new { siteKey = "rate-probe", url = "http://127.0.0.1:9999/", targets = new[] { AustinNap } };
        // The gateway allows a burst of 120 a client, refilled evenly at 2 a second: sent until the first 429, a client gets
        // 120 plus what refilled while it sent (a slow machine refills more; the limit still holds).
        async Task LimitedAsync(Func<int, string> clientIp)
        {
            var timer = System.Diagnostics.Stopwatch.StartNew();
            var served = 0;
            for (var i = 0; ; i++)
            {
                using var r = await PostSession(body with { siteKey = $"probe-{Guid.NewGuid():N}" }, clientIp: clientIp(i));
                if (r.StatusCode == HttpStatusCode.TooManyRequests) break;
                // Unknown site keys are 404 at the silo, but the gateway counts them first.
                Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
                Assert.True(++served <= 120 + 2 * timer.Elapsed.TotalSeconds + 1, $"{served} served in {timer.Elapsed.TotalSeconds:F1} s");
            }
            Assert.InRange(served, 120, 120 + 2 * timer.Elapsed.TotalSeconds + 1);
        }
        var oneClient = NewClientIp();
        await LimitedAsync(_ => oneClient);
        // An IPv6 client's /64 is one client: a new interface id per request does not make a new bucket.
        var network = $"2001:db8:{Random.Shared.Next(0x10000):x}:{Random.Shared.Next(0x10000):x}";
        await LimitedAsync(i => $"{network}:{Random.Shared.Next(0x10000):x}::{i + 1:x}");

        // Per site, counted by the silo on requests it found valid: 300 junk requests naming the site spend none of it...
        var junk = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ =>
            PostSession(new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { "512-555-0101" } })));
        Assert.All(junk, r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        foreach (var r in junk) r.Dispose();
        // ...and real visitors get the whole budget: a burst of 100 a silo, refilled 10 every 100 ms; 300 at once is over it.
        var visit = new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { AustinNap } };
        var bySite = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => PostSession(visit)));
        Assert.InRange(bySite.Count(r => r.StatusCode == HttpStatusCode.OK), 100, 299);
        var limited = bySite.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        await ProblemAssert.Is(limited, HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.True(limited.Headers.RetryAfter is not null);
        foreach (var r in bySite) r.Dispose();

        // A second refills a site's bucket: the site is served again.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var again = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => PostSession(visit)));
        Assert.All(again, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in again) r.Dispose();
    }

    [Fact]
    public async Task The_heartbeat_keeps_the_session_and_an_unknown_session_is_404()
    {
        using var start = await PostSession(new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { AustinNap } });
        var session = await start.Content.ReadFromJsonAsync<JsonElement>();
        var visitor = session.GetProperty("visitorId").GetString();

        using var beat = await Cluster.SendAsync(HttpMethod.Post, $"/v1/dni/sessions/{session.GetProperty("sessionId").GetString()}/heartbeat?siteKey={Site}", null,
            new StringContent(JsonSerializer.Serialize(new { siteKey = Site, visitorId = visitor }), Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.OK, beat.StatusCode);
        // Another website's page may not keep the number held.
        using (var elsewhere = await Cluster.SendAsync(HttpMethod.Post, $"/v1/dni/sessions/{session.GetProperty("sessionId").GetString()}/heartbeat?siteKey={Site}", null,
                   new StringContent(JsonSerializer.Serialize(new { siteKey = Site, visitorId = visitor }), Encoding.UTF8, "text/plain"),
                   r => r.Headers.Add("Origin", "https://evil.example")))
            await ProblemAssert.Is(elsewhere, HttpStatusCode.Forbidden, "origin-not-allowed");
        // The answer is the leases' own expiry, not a stand-in: a heartbeat that reached no pool answers "now".
        Assert.True((await beat.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("expiresAt").GetDateTime()
                    >= session.GetProperty("expiresAt").GetDateTime());

        using var unknown = await Cluster.SendAsync(HttpMethod.Post, $"/v1/dni/sessions/{Guid.NewGuid()}/heartbeat?siteKey={Site}", null,
            new StringContent(JsonSerializer.Serialize(new { siteKey = Site, visitorId = visitor }), Encoding.UTF8, "text/plain"));
        await ProblemAssert.Is(unknown, HttpStatusCode.NotFound, "unknown-session");
    }

    [Fact]
    public async Task Amp_pages_get_a_number_in_amp_call_tracking_form()
    {
        using var response = await Cluster.Http.GetAsync($"/v1/dni/amp?siteKey={Site}&target=%2B15125550102&__amp_source_origin=http%3A%2F%2Flocalhost");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("+1512555", body.GetProperty("phoneNumber").GetString());
        Assert.Matches(@"^\(512\) 555-\d{4}$", body.GetProperty("formattedPhoneNumber").GetString());
        Assert.Equal("http://localhost", response.Headers.GetValues("AMP-Access-Control-Allow-Source-Origin").Single());
    }

    [Fact]
    public async Task The_script_is_served_small_cacheable_and_pinned_by_its_published_hash()
    {
        using var latest = await Cluster.Http.GetAsync("/dni.js");
        using var pinned = await Cluster.Http.GetAsync("/dni/v1.js");
        var versions = await Cluster.Http.GetFromJsonAsync<JsonElement>("/dni/versions.json");

        var body = await pinned.Content.ReadAsByteArrayAsync();
        Assert.Equal(body, await latest.Content.ReadAsByteArrayAsync());
        Assert.Equal("text/javascript", pinned.Content.Headers.ContentType!.MediaType);
        Assert.True(pinned.Headers.CacheControl!.MaxAge >= TimeSpan.FromDays(365));
        Assert.Contains("immutable", pinned.Headers.CacheControl.ToString());
        Assert.True(latest.Headers.CacheControl!.MaxAge <= TimeSpan.FromMinutes(5));
        Assert.Equal("sha384-" + Convert.ToBase64String(SHA384.HashData(body)),
            versions.GetProperty("versions").GetProperty("v1").GetProperty("integrity").GetString());

        using var gzipped = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(gzipped, System.IO.Compression.CompressionLevel.SmallestSize)) gzip.Write(body);
        Assert.True(gzipped.ToArray().Length <= 4096, $"dni.js is {gzipped.ToArray().Length} bytes gzipped");
    }

    [Fact]
    public async Task The_script_is_compressed_for_a_browser_that_asks_and_a_DNI_answer_is_not()
    {
        const string browserEncodings = "gzip, deflate, br, zstd";
        using var script = await Cluster.SendAsync(HttpMethod.Get, "/dni/v1.js", null, configure: r => r.Headers.Add("Accept-Encoding", browserEncodings));
        Assert.Equal(["br"], script.Content.Headers.ContentEncoding);

        var content = new StringContent(JsonSerializer.Serialize(new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { AustinNap } }),
            Encoding.UTF8, "text/plain");
        using var answer = await Cluster.SendAsync(HttpMethod.Post, $"/v1/dni/sessions?siteKey={Site}", null, content, r =>
        {
            r.Headers.Add("Accept-Encoding", browserEncodings);
            r.Headers.Add("X-Forwarded-For", NewClientIp());
        });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Empty(answer.Content.Headers.ContentEncoding);
        Assert.Equal(1, (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps").GetArrayLength());
    }

    [Fact]
    public async Task The_brand_line_on_a_location_page_or_near_a_location_is_swapped_from_that_locations_pool()
    {
        async Task<JsonElement> Swap(string path, object? geo)
        {
            using var response = await PostSession(new { siteKey = Site, url = $"http://127.0.0.1:9999{path}", targets = new[] { "+18005550100" }, geo });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0];
        }

        var onKatyPage = await Swap("/locations/katy/ac-repair", null);
        var nearPlano = await Swap("/", new { lat = 33.05, lon = -96.84 });   // ~2 miles from Plano, ~5 from Frisco
        var nowhere = await Swap("/", null);
        var katyZip = await Swap("/", new { postalCode = "77494-1234" });   // a store-locator search: Katy's ZIP centroid

        Assert.Equal(("katy", "page"), (onKatyPage.GetProperty("location").GetString(), onKatyPage.GetProperty("resolvedBy").GetString()));
        Assert.Equal(("plano", "geo"), (nearPlano.GetProperty("location").GetString(), nearPlano.GetProperty("resolvedBy").GetString()));
        Assert.Equal("brand-pool", nowhere.GetProperty("resolvedBy").GetString());
        Assert.Equal(("katy", "geo"), (katyZip.GetProperty("location").GetString(), katyZip.GetProperty("resolvedBy").GetString()));
        Assert.StartsWith("+1281555", onKatyPage.GetProperty("number").GetString());   // a Houston-market tracking number
    }

    [Fact]
    public async Task A_static_number_on_a_page_is_never_swapped()
    {
        // Austin's Google Business Profile number (demo data), shown on Austin's own page next to its NAP number.
        using var response = await PostSession(new { siteKey = Site, url = "http://127.0.0.1:9999/locations/austin-downtown", targets = new[] { "+15125550180", AustinNap } });

        var swaps = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps").EnumerateArray().ToList();
        Assert.Equal([AustinNap], swaps.Select(s => s.GetProperty("target").GetString()));
    }

    [Fact]
    public async Task Geo_headers_from_a_trusted_CDN_place_the_visitor_and_explicit_geo_beats_them()
    {
        async Task<(string?, string?)> Swap(object? geo)
        {
            var content = new StringContent(JsonSerializer.Serialize(new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { "+18005550100" }, geo }),
                Encoding.UTF8, "text/plain");
            using var response = await Cluster.SendAsync(HttpMethod.Post, $"/v1/dni/sessions?siteKey={Site}", null, content, r =>
            {
                r.Headers.Add("X-Forwarded-For", NewClientIp());
                r.Headers.Add("cf-iplatitude", "33.05");     // near Plano; the test gateway trusts the loopback as its CDN
                r.Headers.Add("cf-iplongitude", "-96.84");
            });
            var swap = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0];
            return (swap.GetProperty("location").GetString(), swap.GetProperty("resolvedBy").GetString());
        }

        Assert.Equal(("plano", "cdn-geo"), await Swap(null));
        Assert.Equal(("katy", "geo"), await Swap(new { lat = 29.74, lon = -95.77 }));
    }

    [Fact]
    public async Task The_client_address_places_the_visitor_through_the_IP_database_after_explicit_and_CDN_geo()
    {
        // Where the pinned DB-IP file puts a well-known public address; a location is opened right there.
        var database = Environment.GetEnvironmentVariable("CALLMESH_GEO__IPDATABASE");
        Assert.True(File.Exists(database), "./callmesh test fetches the DB-IP city database and sets CALLMESH_GEO__IPDATABASE");
        using var geo = new CallMesh.Silo.Geo.IpGeolocation(
            Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), new Dictionary<string, string?> { ["GEO:IPDATABASE"] = database }).Build(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<CallMesh.Silo.Geo.IpGeolocation>.Instance);
        Assert.True(geo.TryLocate(System.Net.IPAddress.Parse("8.8.8.8"), out var lat, out var lon));
        var admin = Cluster.Token("bluebonnet", CallMesh.Identity.Roles.BrandAdmin);
        var numbers = new[] { "+12065550141", "+12065550142" };
        (await Cluster.SendAsync(HttpMethod.Post, "/v1/tenants/bluebonnet/numbers", admin, numbers.Select(n => new { number = n, carrier = "twilio" }))).EnsureSuccessStatusCode();
        (await Cluster.SendAsync(HttpMethod.Put, "/v1/tenants/bluebonnet/locations/ip-town", admin, new
        {
            name = "Bluebonnet Home Services – IP Town", napPhone = "+12065550140", forwardTo = "+12065550149", timeZone = "America/Chicago",
            address = new { line1 = "1 Main St", city = "Somewhere", region = "CA", postalCode = "94000", country = "US" },
            geo = new { lat, lon }, serviceRadiusMiles = 25, market = "remote",
        })).EnsureSuccessStatusCode();
        (await Cluster.SendAsync(HttpMethod.Put, "/v1/tenants/bluebonnet/pools/ip-town", admin, new { location = "ip-town", numbers })).EnsureSuccessStatusCode();

        async Task<(string?, string?)> Swap(string clientIp, object? explicitGeo, bool cdn = false)
        {
            var content = new StringContent(JsonSerializer.Serialize(new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { "+18005550100" }, geo = explicitGeo }),
                Encoding.UTF8, "text/plain");
            using var response = await Cluster.SendAsync(HttpMethod.Post, $"/v1/dni/sessions?siteKey={Site}", null, content, r =>
            {
                r.Headers.Add("X-Forwarded-For", clientIp);
                if (cdn) r.Headers.Add("CloudFront-Viewer-Postal-Code", "75024");   // Plano
            });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var swap = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0];
            return (swap.GetProperty("location").GetString(), swap.GetProperty("resolvedBy").GetString());
        }

        Assert.Equal(("ip-town", "ip-geo"), await Swap("8.8.8.8", null));
        Assert.Equal(("katy", "geo"), await Swap("8.8.8.8", new { lat = 29.74, lon = -95.77 }));
        Assert.Equal(("plano", "cdn-geo"), await Swap("8.8.8.8", null, cdn: true));
        // A store-locator choice that no location serves does not hide what the address says.
        Assert.Equal(("ip-town", "ip-geo"), await Swap("8.8.8.8", new { lat = 61.2, lon = -149.9 }));
        Assert.Equal((null, "brand-pool"), await Swap(NewClientIp(), null));   // a documentation address: in no database

        // Straight to a silo, not through the gateway: X-Forwarded-For is anyone's word there, and is not believed.
        using var silo = new HttpClient { BaseAddress = Cluster.SiloUrls[0] };
        using var direct = new HttpRequestMessage(HttpMethod.Post, $"/v1/dni/sessions?siteKey={Site}")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { siteKey = Site, url = "http://127.0.0.1:9999/", targets = new[] { "+18005550100" } }),
                Encoding.UTF8, "text/plain"),
        };
        direct.Headers.Add("X-Forwarded-For", "8.8.8.8");
        using var answer = await silo.SendAsync(direct);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("brand-pool", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0].GetProperty("resolvedBy").GetString());
    }
}
