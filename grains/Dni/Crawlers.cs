using System.Text.RegularExpressions;

namespace CallMesh.Dni;

/// <summary>
/// Known crawlers get no lease: their page keeps its own (canonical) numbers. Every visitor, bot
/// or not, is served the same HTML; only the answer to the script differs, so this is not cloaking.
/// Headless browsers are not crawlers (they run the script like a person's browser).
/// </summary>
public static partial class Crawlers
{
    public static bool IsCrawler(string? userAgent) => userAgent is not null && Pattern().IsMatch(userAgent);

    [GeneratedRegex(@"bot\b|bot/|crawler|spider|slurp|facebookexternalhit|embedly|quora link preview|bingpreview|ahrefs|semrush|mj12|petalbot|yandex|baiduspider|duckduckbot|applebot|lighthouse|pingdom|uptimerobot",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
