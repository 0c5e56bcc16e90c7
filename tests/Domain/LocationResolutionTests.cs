using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Pools;
using CallMesh.Tenants;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Domain;

/// <summary>Which location's pool answers for a site's own number: page pattern, then explicit geo, then default, then brand.</summary>
public sealed class LocationResolutionTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private const string BrandLine = "+18005550100";
    private readonly DniSetup _dni = new(fixture);

    [Theory]
    [InlineData("/locations/austin/*", "/locations/austin/water-heaters", true)]
    [InlineData("/locations/austin/*", "/locations/austin-north/", false)]
    [InlineData("/locations/austin", "/locations/austin/", true)]
    [InlineData("/locations/*/plumbing", "/locations/katy/plumbing", true)]
    [InlineData("/locations/austin", "/locations/austin/x", false)]
    [InlineData("/*/austin/*/plumbing*", "/tx/austin/north/plumbing-repair", true)]
    [InlineData("/*a*a*b", "/xaab", true)]
    [InlineData("/*a*a*b", "/xab", false)]                  // each piece after the one before, never the same letter twice
    [InlineData("/a*a", "/a", false)]                       // the text around a star may not overlap
    [InlineData("/LOCATIONS/*", "/locations/katy", true)]
    public void Page_patterns_match_paths(string pattern, string path, bool matches) =>
        Assert.Equal(matches, PagePattern.Matches(pattern, path));

    [Fact]
    public async Task A_pattern_with_many_stars_against_a_long_path_ends_at_once_instead_of_backtracking()
    {
        // The backtracking matcher tried every split: with this valid pattern an 80-character path took 27 s, and the tenant
        // grain (which matches for every DNI request of the brand) answered nobody meanwhile. This one scans the path per star.
        var path = "/" + new string('a', 100_000);
        var matched = await Task.Run(() => PagePattern.Matches("/*a*a*a*b", path)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(matched);
        Assert.True(PagePattern.Matches("/*a*a*a*b", path + "b"));
        Assert.Contains("pagePatterns[0]", LocationRules.Validate(
            new LocationConfig("X", new PostalAddress("1 Main St", "Austin", "TX", "78701", "US"), "+15125550100", "+15125550101",
                "America/Chicago", null, null, null, null, null, ["/*a*a*a*a*b"])).ToDictionary().Keys);
    }

    [Fact]
    public void Great_circle_distances_are_in_miles() =>
        Assert.InRange(GreatCircle.Miles(30.2669, -97.7428, 32.7767, -96.7970), 180, 184);   // Austin to Dallas

    private async Task<string> Brand(string? defaultLocation = null)
    {
        var tenant = $"t-{Guid.NewGuid():N}"[..12];
        await fixture.Grains.GetGrain<ITenantGrain>(tenant).Put(new TenantConfig("Acme", "America/Chicago", "USD", null));
        (string Id, string Nap, double Lat, double Lon, double Radius, string? Pattern)[] locations =
        [
            ("austin", "+15125550101", 30.2669, -97.7428, 15, "/locations/austin/*"),
            ("round-rock", "+15125550103", 30.5619, -97.6939, 15, null),
            ("dallas", "+12145550107", 32.7977, -96.8013, 20, null),
        ];
        var numbers = DniSetup.NewNumbers(locations.Length * 2 + 2);
        await _dni.Service<NumberDirectory>().ImportAsync(tenant, numbers.Select(n => new NumberImport(n, "twilio", null)).ToList());
        for (var i = 0; i < locations.Length; i++)
        {
            var l = locations[i];
            var location = TenantAndLocationGrainTests.Austin() with
            {
                NapPhone = l.Nap,
                Geo = new GeoPoint(l.Lat, l.Lon),
                ServiceRadiusMiles = l.Radius,
                PagePatterns = l.Pattern is null ? [] : [l.Pattern],
            };
            Assert.NotEqual(SaveOutcome.Invalid, (await fixture.Grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, l.Id)).Put(location)).Outcome);
            Assert.Equal(SaveOutcome.Created, (await fixture.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, $"{l.Id}-web"))
                .Put(new PoolConfig(l.Id, [numbers[2 * i]], null, null, numbers[2 * i + 1]))).Outcome);
        }
        await fixture.Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, "brand-web")).Put(new PoolConfig(null, [numbers[^2]], null, null, numbers[^1]));
        return tenant;
    }

    private async Task<(string? Location, string By)> Resolve(string tenant, PageContext page, string? defaultLocation = null, string target = BrandLine)
    {
        var plan = await fixture.Grains.GetGrain<ITenantGrain>(tenant).PlanSwaps([target, "+14155550199"], defaultLocation, [BrandLine], page);
        var swap = Assert.Single(plan);   // the stranger's number is never planned
        return (swap.LocationId, swap.ResolvedBy);
    }

    [Fact]
    public async Task A_location_page_beats_the_visitors_geo()
    {
        var tenant = await Brand();

        Assert.Equal(("austin", "page"), await Resolve(tenant, new PageContext("/locations/austin/drains", 30.55, -97.70)));
    }

    [Fact]
    public async Task Geo_picks_the_nearest_location_whose_service_radius_reaches_the_visitor()
    {
        var tenant = await Brand();

        // Near Round Rock: Austin is ~20 miles away, beyond its 15-mile radius.
        Assert.Equal(("round-rock", "geo"), await Resolve(tenant, new PageContext("/", 30.55, -97.70)));
        Assert.Equal(("dallas", "geo"), await Resolve(tenant, new PageContext("/", 32.90, -96.75)));
    }

    [Fact]
    public async Task Outside_every_radius_the_default_location_then_the_brand_pool_answers()
    {
        var tenant = await Brand();
        var houston = new PageContext("/", 29.76, -95.37);

        Assert.Equal(("dallas", "site-default"), await Resolve(tenant, houston, defaultLocation: "dallas"));
        Assert.Equal(((string?)null, "brand-pool"), await Resolve(tenant, houston));
    }

    [Fact]
    public async Task A_locations_own_number_is_always_swapped_from_its_own_pool()
    {
        var tenant = await Brand();

        Assert.Equal(("round-rock", "nap-phone"), await Resolve(tenant, new PageContext("/locations/austin/x", 32.9, -96.75), target: "+15125550103"));
    }
}
