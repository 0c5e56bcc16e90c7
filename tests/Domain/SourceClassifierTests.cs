using CallMesh.Sites;
using CallMesh.Visitors;

namespace CallMesh.Tests.Domain;

public sealed class SourceClassifierTests
{
    private static SourceClassifier.Classification Classify(string url, string? referrer = null, params SourceRule[] rules) =>
        SourceClassifier.Classify(new Uri(url), referrer is null ? null : new Uri(referrer), rules);

    [Fact]
    public void Utm_parameters_beat_the_referrer_and_click_ids_are_kept()
    {
        var c = Classify("https://acme.example/a?utm_source=Google&utm_medium=CPC&utm_campaign=spring&utm_term=water+heater&gclid=G1",
            "https://www.bing.com/search?q=x");

        Assert.Equal(("google", "cpc", "spring", "water heater", "utm"), (c.Source, c.Medium, c.Campaign, c.Keyword, c.DecidedBy));
        Assert.Equal("G1", c.ClickIds.Gclid);
    }

    [Fact]
    public void Parameter_names_are_case_insensitive_values_decoded_and_a_repeated_name_keeps_its_first_value()
    {
        var c = Classify("https://acme.example/?UTM_Source=Yelp%20Ads&utm_medium=cpc&utm_source=other&utm_campaign=%C3%A9t%C3%A9&GCLID=G2");

        Assert.Equal(("yelp ads", "cpc", "\u00e9t\u00e9", "G2"), (c.Source, c.Medium, c.Campaign, c.ClickIds.Gclid));
    }

    [Theory]
    [InlineData("gclid=abc", "google", "cpc")]
    [InlineData("gbraid=abc", "google", "cpc")]
    [InlineData("wbraid=abc", "google", "cpc")]
    [InlineData("msclkid=abc", "bing", "cpc")]
    [InlineData("fbclid=abc", "facebook", "social")]
    public void Click_ids_name_the_ad_network(string query, string source, string medium)
    {
        var c = Classify($"https://acme.example/?{query}", "https://www.google.com/");

        Assert.Equal((source, medium, "click-id"), (c.Source, c.Medium, c.DecidedBy));
        Assert.True(c.IsPaidClick);
    }

    [Theory]
    [InlineData("https://www.google.com/search?q=plumber", "google", "organic")]
    [InlineData("https://duckduckgo.com/", "duckduckgo", "organic")]
    [InlineData("https://l.facebook.com/l.php", "facebook", "social")]
    [InlineData("https://t.co/abc", "twitter", "social")]
    [InlineData("https://www.yelp.com/biz/acme", "yelp.com", "referral")]
    public void Referrers_are_search_social_or_referral(string referrer, string source, string medium)
    {
        var c = Classify("https://acme.example/locations/austin", referrer);

        Assert.Equal((source, medium, "referrer"), (c.Source, c.Medium, c.DecidedBy));
    }

    [Fact]
    public void The_sites_own_rules_come_first_and_internal_referrers_are_direct()
    {
        var rules = new[]
        {
            new SourceRule("src", "billboard", null, "billboard-i35", "offline", "i35-2026"),
            new SourceRule(null, null, "nextdoor.com", "nextdoor", "social", null),
        };

        var byParam = Classify("https://acme.example/?src=billboard&utm_source=google", null, rules);
        var byReferrer = Classify("https://acme.example/", "https://austin.nextdoor.com/post/1", rules);
        var internalHop = Classify("https://acme.example/contact", "https://www.acme.example/", rules);

        Assert.Equal(("billboard-i35", "offline", "i35-2026", "site-rule"), (byParam.Source, byParam.Medium, byParam.Campaign, byParam.DecidedBy));
        Assert.Equal(("nextdoor", "social", "site-rule"), (byReferrer.Source, byReferrer.Medium, byReferrer.DecidedBy));
        Assert.Equal(("(direct)", "direct"), (internalHop.Source, internalHop.DecidedBy));
    }
}
