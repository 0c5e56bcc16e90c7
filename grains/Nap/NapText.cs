using System.Globalization;
using System.Text;

namespace CallMesh.Nap;

/// <summary>
/// Names and addresses as directories print them differ in case, punctuation and abbreviations
/// ("401 Congress Avenue, Suite 200" vs "401 Congress Ave Ste 200"): compare them in a normal form.
/// </summary>
public static partial class NapText
{
    private static readonly Dictionary<string, string> Abbreviations = new(StringComparer.Ordinal)
    {
        ["street"] = "st", ["avenue"] = "ave", ["av"] = "ave", ["road"] = "rd", ["boulevard"] = "blvd", ["drive"] = "dr",
        ["lane"] = "ln", ["court"] = "ct", ["place"] = "pl", ["parkway"] = "pkwy", ["highway"] = "hwy", ["freeway"] = "fwy",
        ["expressway"] = "expy", ["circle"] = "cir", ["terrace"] = "ter", ["square"] = "sq", ["trail"] = "trl", ["way"] = "way",
        ["suite"] = "ste", ["unit"] = "ste", ["apartment"] = "ste", ["apt"] = "ste", ["building"] = "bldg", ["floor"] = "fl",
        ["north"] = "n", ["south"] = "s", ["east"] = "e", ["west"] = "w",
        ["northeast"] = "ne", ["northwest"] = "nw", ["southeast"] = "se", ["southwest"] = "sw",
        ["first"] = "1st", ["second"] = "2nd", ["third"] = "3rd", ["fourth"] = "4th", ["fifth"] = "5th",
        ["alabama"] = "al", ["alaska"] = "ak", ["arizona"] = "az", ["arkansas"] = "ar", ["california"] = "ca", ["colorado"] = "co",
        ["connecticut"] = "ct", ["delaware"] = "de", ["florida"] = "fl", ["georgia"] = "ga", ["hawaii"] = "hi", ["idaho"] = "id",
        ["illinois"] = "il", ["indiana"] = "in", ["iowa"] = "ia", ["kansas"] = "ks", ["kentucky"] = "ky", ["louisiana"] = "la",
        ["maine"] = "me", ["maryland"] = "md", ["massachusetts"] = "ma", ["michigan"] = "mi", ["minnesota"] = "mn",
        ["mississippi"] = "ms", ["missouri"] = "mo", ["montana"] = "mt", ["nebraska"] = "ne", ["nevada"] = "nv", ["ohio"] = "oh",
        ["oklahoma"] = "ok", ["oregon"] = "or", ["pennsylvania"] = "pa", ["tennessee"] = "tn", ["texas"] = "tx", ["utah"] = "ut",
        ["vermont"] = "vt", ["virginia"] = "va", ["washington"] = "wa", ["wisconsin"] = "wi", ["wyoming"] = "wy",
    };

    // Two-word state names, joined before the word-by-word pass.
    private static readonly (string Words, string Code)[] TwoWordStates =
    [
        ("new hampshire", "nh"), ("new jersey", "nj"), ("new mexico", "nm"), ("new york", "ny"), ("north carolina", "nc"),
        ("north dakota", "nd"), ("rhode island", "ri"), ("south carolina", "sc"), ("south dakota", "sd"), ("west virginia", "wv"),
        ("district of columbia", "dc"),
    ];

    private static readonly HashSet<string> Countries = ["us", "usa", "united states", "united states of america"];

    /// <summary>A business name: case, accents, punctuation and "&amp;" vs "and" do not matter.</summary>
    public static string Name(string name) => string.Join(' ', Words(name));

    /// <summary>A one-line address, with street types, unit words, directions and states abbreviated and ZIP+4 cut to the ZIP.</summary>
    public static string Address(string address)
    {
        var text = string.Join(' ', Words(address));
        foreach (var country in Countries.OrderByDescending(c => c.Length))
            if (text.EndsWith(" " + country, StringComparison.Ordinal)) text = text[..^(country.Length + 1)];
        foreach (var (words, code) in TwoWordStates) text = text.Replace(words, code, StringComparison.Ordinal);
        return string.Join(' ', text.Split(' ').Select(w =>
            Abbreviations.TryGetValue(w, out var abbreviation) ? abbreviation
            : w));
    }

    /// <summary>The location's structured address as one line, for comparison with a published one.</summary>
    public static string Address(Locations.PostalAddress address) =>
        Address($"{address.Line1}, {address.City}, {address.Region} {address.PostalCode}");

    /// <summary>A listing URL without scheme, "www.", query, fragment or trailing slash: two URLs of one page compare equal.</summary>
    public static string Url(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? (uri.Host.StartsWith("www.", StringComparison.OrdinalIgnoreCase) ? uri.Host[4..] : uri.Host).ToLowerInvariant() + uri.AbsolutePath.TrimEnd('/').ToLowerInvariant()
            : url.Trim().ToLowerInvariant();

    private static IEnumerable<string> Words(string text)
    {
        var plain = new StringBuilder(text.Length);
        foreach (var c in text.Normalize(NormalizationForm.FormD))
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) plain.Append(c);
        var spaced = ZipPlus4().Replace(plain.ToString().ToLowerInvariant(), "$1").Replace("&", " and ").Replace("#", " ste ");
        var word = new StringBuilder();
        foreach (var c in spaced)
        {
            if (char.IsLetterOrDigit(c)) word.Append(c);
            else if (word.Length > 0) { yield return word.ToString(); word.Clear(); }
        }
        if (word.Length > 0) yield return word.ToString();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(\d{5})-\d{4}\b")]
    private static partial System.Text.RegularExpressions.Regex ZipPlus4();
}
