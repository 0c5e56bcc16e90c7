using CallMesh.Sites;
using Microsoft.AspNetCore.WebUtilities;

namespace CallMesh.Visitors;

/// <summary>
/// Where a visit came from. Precedence, first match wins (README "Source classification"):
/// 1. the site's own <see cref="SourceRule"/>s, in order;
/// 2. utm_* parameters on the landing URL;
/// 3. ad click ids (gclid/gbraid/wbraid: google cpc; msclkid: bing cpc; fbclid: facebook social);
/// 4. the referrer: search engines are organic, social networks social, anything else a referral
///    (a referrer on the site itself is ignored);
/// 5. direct.
/// Click ids are captured whichever rule decides.
/// </summary>
public static class SourceClassifier
{
    private static readonly (string Host, string Source)[] SearchEngines =
    [
        ("google.", "google"), ("bing.com", "bing"), ("yahoo.", "yahoo"), ("duckduckgo.com", "duckduckgo"),
        ("baidu.com", "baidu"), ("yandex.", "yandex"), ("ecosia.org", "ecosia"), ("search.brave.com", "brave"),
    ];

    private static readonly (string Host, string Source)[] SocialNetworks =
    [
        ("facebook.com", "facebook"), ("fb.com", "facebook"), ("instagram.com", "instagram"), ("t.co", "twitter"),
        ("twitter.com", "twitter"), ("x.com", "twitter"), ("linkedin.com", "linkedin"), ("lnkd.in", "linkedin"),
        ("pinterest.com", "pinterest"), ("reddit.com", "reddit"), ("youtube.com", "youtube"), ("tiktok.com", "tiktok"),
        ("nextdoor.com", "nextdoor"),
    ];

    public sealed record Classification(string Source, string Medium, string? Campaign, string? Keyword, ClickIds ClickIds, string DecidedBy)
    {
        public bool IsDirect => DecidedBy == "direct";
        public bool IsPaidClick => ClickIds.Any || DecidedBy == "utm";
    }

    /// <summary>
    /// A landing URL's query parameters, decoded. Names are case-insensitive (UTM_Source is utm_source, as analytics
    /// tools read them); of a repeated name the first value counts.
    /// </summary>
    public static Dictionary<string, string> QueryOf(Uri landing)
    {
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in new QueryStringEnumerable(landing.Query))
            parameters.TryAdd(pair.DecodeName().ToString(), pair.DecodeValue().ToString());
        return parameters;
    }

    /// <param name="query">The landing URL's <see cref="QueryOf"/>, when the caller has it already.</param>
    public static Classification Classify(Uri landing, Uri? referrer, IReadOnlyList<SourceRule> rules,
        IReadOnlyDictionary<string, string>? query = null)
    {
        query ??= QueryOf(landing);
        string? Param(string name) => query.TryGetValue(name, out var v) && v.Trim() is { Length: > 0 } trimmed ? trimmed : null;
        var clicks = new ClickIds(Param("gclid"), Param("gbraid"), Param("wbraid"), Param("msclkid"), Param("fbclid"));
        var campaign = Param("utm_campaign");
        var keyword = Param("utm_term");
        var externalReferrer = referrer is not null && !SameSite(referrer.Host, landing.Host) ? referrer : null;

        foreach (var rule in rules)
        {
            var matches = rule.Param is { } p
                ? Param(p) is { } value && (rule.Value is null || string.Equals(rule.Value, value, StringComparison.OrdinalIgnoreCase))
                : rule.ReferrerHost is { } host && externalReferrer is not null && HostMatches(externalReferrer.Host, host);
            if (matches)
                return new(rule.Source!, rule.Medium!, rule.Campaign ?? campaign, keyword, clicks, "site-rule");
        }

        if (Param("utm_source") is { } utmSource)
            return new(utmSource.ToLowerInvariant(), (Param("utm_medium") ?? "(none)").ToLowerInvariant(), campaign, keyword, clicks, "utm");

        if (clicks.Gclid is not null || clicks.Gbraid is not null || clicks.Wbraid is not null)
            return new("google", "cpc", campaign, keyword, clicks, "click-id");
        if (clicks.Msclkid is not null) return new("bing", "cpc", campaign, keyword, clicks, "click-id");
        if (clicks.Fbclid is not null) return new("facebook", "social", campaign, keyword, clicks, "click-id");

        if (externalReferrer is not null)
        {
            var host = externalReferrer.Host.ToLowerInvariant();
            foreach (var (pattern, source) in SearchEngines)
                if (host.Contains(pattern, StringComparison.Ordinal)) return new(source, "organic", null, null, clicks, "referrer");
            foreach (var (pattern, source) in SocialNetworks)
                if (HostMatches(host, pattern)) return new(source, "social", null, null, clicks, "referrer");
            return new(host.StartsWith("www.", StringComparison.Ordinal) ? host[4..] : host, "referral", null, null, clicks, "referrer");
        }

        return new("(direct)", "(none)", null, null, clicks, "direct");
    }

    /// <summary>"example.com" matches example.com and any subdomain of it.</summary>
    public static bool HostMatches(string host, string domain) =>
        host.Equals(domain, StringComparison.OrdinalIgnoreCase) || host.EndsWith("." + domain, StringComparison.OrdinalIgnoreCase);

    private static bool SameSite(string a, string b) =>
        string.Equals(StripWww(a), StripWww(b), StringComparison.OrdinalIgnoreCase);

    private static string StripWww(string host) => host.StartsWith("www.", StringComparison.OrdinalIgnoreCase) ? host[4..] : host;
}
