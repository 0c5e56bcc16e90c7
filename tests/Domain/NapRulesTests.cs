using CallMesh.Locations;
using CallMesh.Nap;
using CallMesh.Numbers;

namespace CallMesh.Tests.Domain;

/// <summary>NAP normalization, the citation audit's rules and the page lint, on fixture data.</summary>
public sealed class NapRulesTests
{
    private static readonly LocationConfig Austin = new("Bluebonnet Home Services – Downtown Austin",
        new PostalAddress("401 Congress Ave Ste 200", "Austin", "TX", "78701", "US"), "+15125550101", "+17375550101", "America/Chicago",
        null, null, new GeoPoint(30.27, -97.74), 15, "austin", null);

    private static readonly Dictionary<string, TrackingNumber> Directory = new[]
    {
        new TrackingNumber("+15125550180", "t", "twilio", null, "static", null, "austin", "gbp", "gbp"),
        new TrackingNumber("+15125550181", "t", "twilio", null, "static", null, "austin", "billboard", "billboard"),
        new TrackingNumber("+15125550112", "t", "twilio", null, "pool", "austin-web", "austin", null),
        new TrackingNumber("+15125550115", "t", "twilio", null, "overflow", "austin-web", "austin", null),
    }.ToDictionary(n => n.Number);

    private static Citation Listing(string key, string phone, string? name = null, string? address = null, string publisher = "Yelp", string? url = null) =>
        new(key, url ?? $"https://www.{publisher.ToLowerInvariant()}.example/biz/{key}", publisher, name ?? Austin.Name!,
            address ?? "401 Congress Ave Ste 200, Austin, TX 78701", phone, DateTime.UtcNow);

    [Theory]
    [InlineData("401 Congress Avenue, Suite 200, Austin, Texas 78701-1234, USA")]
    [InlineData("401 CONGRESS AVE. #200 AUSTIN TX 78701")]
    [InlineData("401 Congress Ave, Unit 200, Austin, TX, 78701 United States")]
    public void Published_addresses_that_differ_only_in_form_match_the_locations(string published) =>
        Assert.Equal(NapText.Address(Austin.Address!), NapText.Address(published));

    [Theory]
    [InlineData("401 Congress Ave Ste 300, Austin, TX 78701")]
    [InlineData("401 Congress Ave Ste 200, Austin, TX 78702")]
    [InlineData("410 Congress Ave Ste 200, Austin, TX 78701")]
    public void A_different_suite_zip_or_street_number_is_a_different_address(string published) =>
        Assert.NotEqual(NapText.Address(Austin.Address!), NapText.Address(published));

    [Fact]
    public void Names_compare_without_case_accents_dashes_or_ampersands()
    {
        Assert.Equal(NapText.Name("Bluebonnet Home Services – Downtown Austin"), NapText.Name("BLUEBONNET HOME SERVICES - Downtown Austin"));
        Assert.Equal(NapText.Name("Smith & Sons Café"), NapText.Name("smith and sons cafe"));
        Assert.NotEqual(NapText.Name("Bluebonnet Home Services"), NapText.Name("Bluebonnet Plumbing"));
    }

    [Fact]
    public void The_audit_flags_pool_numbers_as_critical_and_accepts_the_nap_and_listing_numbers()
    {
        var findings = NapAudit.Check("austin", Austin,
        [
            Listing("yelp", "+15125550101"),                                            // napPhone: fine
            Listing("gbp", "+15125550180", publisher: "Google"),                        // approved gbp static number: fine
            Listing("yp", "+15125550112", publisher: "YellowPages"),                    // a pool number: critical
            Listing("manta", "+15125550115", publisher: "Manta"),                       // the overflow number: critical
            Listing("bbb", "+15125550181", publisher: "BBB"),                           // the billboard's number: misattributed
            Listing("angi", "+12145550107", publisher: "Angi"),                         // another brand's or location's number
            Listing("nextdoor", "+15125550101", name: "Bluebonnet Plumbing", address: "500 Congress Ave, Austin, TX 78701", publisher: "Nextdoor"),
        ], Directory);

        var byCitation = findings.ToLookup(f => f.Citation);
        Assert.Empty(byCitation["yelp"]);
        Assert.Empty(byCitation["gbp"]);
        Assert.Equal(("critical", "pool-number-published"), (byCitation["yp"].Single().Severity, byCitation["yp"].Single().Code));
        Assert.Equal("pool-number-published", byCitation["manta"].Single().Code);
        Assert.Contains("billboard", byCitation["bbb"].Single().Message);
        Assert.Equal("unapproved-phone", byCitation["angi"].Single().Code);
        Assert.Equal(["name-mismatch", "address-mismatch"], byCitation["nextdoor"].Select(f => f.Code));
    }

    [Fact]
    public void The_same_page_twice_or_two_listings_on_one_publisher_are_duplicates()
    {
        var findings = NapAudit.Check("austin", Austin,
        [
            Listing("yelp", "+15125550101", url: "https://www.yelp.example/biz/bluebonnet-austin"),
            Listing("yelp-copy", "+15125550101", url: "http://yelp.example/biz/bluebonnet-austin/"),
            Listing("yelp-old", "+15125550101", url: "https://www.yelp.example/biz/bluebonnet-austin-2"),
        ], Directory);

        Assert.All(findings, f => Assert.Equal("duplicate-listing", f.Code));
        Assert.Contains(findings, f => f.Citation == "yelp-copy" && f.Message.Contains("same page"));
        Assert.Contains(findings, f => f.Citation == "yelp-old" && f.Message.Contains("second listing"));
        Assert.DoesNotContain(findings, f => f.Citation == "yelp");
    }

    [Fact]
    public void Page_lint_reports_structured_and_visible_numbers_and_a_pool_number_baked_into_the_html()
    {
        const string html = """
            <html><head>
              <script type="application/ld+json">{"@context":"https://schema.org","@type":"HomeAndConstructionBusiness",
                "name":"Bluebonnet","telephone":"+1-512-555-0101","department":[{"@type":"Plumber","telephone":"(512) 555-0180"}]}</script>
              <script>window.cachedSwap = "512-555-0115";</script>
            </head><body>
              <div itemscope itemtype="https://schema.org/LocalBusiness"><span itemprop="telephone">(512) 555-0101</span></div>
              <p>Call <a href="tel:+15125550112">(512) 555-0112</a> today</p>
              <p data-callmesh-noswap>Office: 512.555.0101</p>
              <template>(512) 555-0199</template>
            </body></html>
            """;
        var (found, problems) = PageLint.Extract(html);
        var report = PageLint.Judge(found, problems, new Dictionary<string, string> { ["+15125550101"] = "austin" }, Directory, "austin");

        Assert.Equal(["+15125550101", "+15125550180"], report.JsonLd.Select(n => n.Number));
        Assert.Equal(("+15125550101", "nap", "austin"), (report.Microdata.Single().Number, report.Microdata.Single().Kind, report.Microdata.Single().Location));
        Assert.Equal(["+15125550101", "+15125550101", "+15125550112", "+15125550112"], report.Visible.Select(n => n.Number).Order().ToList());
        Assert.Contains(report.Visible, n => n is { Where: "tel-link", Kind: "pool" });
        Assert.DoesNotContain(report.Visible, n => n.Number == "+15125550199");   // a template is not shown
        var critical = report.Findings.Where(f => f.Severity == "critical").Select(f => f.Message).ToList();
        Assert.Equal(2, critical.Count);
        Assert.Contains(critical, m => m.Contains("+15125550112") && m.Contains("pool 'austin-web'"));
        Assert.Contains(critical, m => m.Contains("+15125550115") && m.Contains("(source)"));
        var structured = Assert.Single(report.Findings, f => f.Code == "structured-data-not-nap");
        Assert.Contains("+15125550180", structured.Message);
    }
}
