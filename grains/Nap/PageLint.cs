using System.Text.Json;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using CallMesh.Common;
using CallMesh.Numbers;

namespace CallMesh.Nap;

/// <summary>A phone number found in a page: where ("json-ld", "microdata", "text", "tel-link", "source"), and what it is to the tenant.</summary>
public sealed record PageNumber(string Number, string Raw, string Where, string Kind, string? Location);

public sealed record PageLintReport(List<PageNumber> JsonLd, List<PageNumber> Microdata, List<PageNumber> Visible, List<NapFinding> Findings);

/// <summary>
/// Reads a page's HTML as served, before any script runs (what crawlers and citation scrapers see):
/// the telephones of its JSON-LD and microdata, the numbers a visitor sees, and any pool number baked
/// into the source, which means a server-side or cached swap is leaking session numbers to crawlers.
/// </summary>
public static class PageLint
{
    private static readonly HashSet<string> Invisible = ["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD"];

    /// <summary>The numbers in the page, each with where it was found; <c>Kind</c> and <c>Location</c> are filled by <see cref="Judge"/>.</summary>
    public static (List<PageNumber> Found, List<string> Problems) Extract(string html)
    {
        var document = new HtmlParser().ParseDocument(html);
        var found = new List<PageNumber>();
        var problems = new List<string>();
        void Add(string text, string where)
        {
            foreach (var (number, raw) in Rules.FindPhoneNumbers(text)) found.Add(new PageNumber(number, raw, where, "", null));
        }

        foreach (var script in document.QuerySelectorAll("script[type='application/ld+json']"))
        {
            try
            {
                using var json = JsonDocument.Parse(script.TextContent);
                foreach (var telephone in Telephones(json.RootElement)) AddTelephone(telephone, "json-ld");
            }
            catch (JsonException e)
            {
                problems.Add($"a JSON-LD block is not valid JSON: {e.Message}");
            }
        }
        foreach (var element in document.QuerySelectorAll("[itemprop~='telephone']"))
            AddTelephone(element.GetAttribute("content") ?? (element.GetAttribute("href") is { } href && href.StartsWith("tel:", StringComparison.OrdinalIgnoreCase) ? href[4..] : element.TextContent), "microdata");
        if (document.Body is { } body)
            foreach (var text in body.Descendants<IText>().Where(t => !t.Ancestors<IElement>().Any(e => Invisible.Contains(e.TagName))))
                Add(text.Data, "text");
        foreach (var link in document.QuerySelectorAll("a[href^='tel:' i]"))
            AddTelephone(link.GetAttribute("href")![4..], "tel-link");
        // Anything else in the source (inline scripts, attributes): only to catch tracking numbers baked in.
        var seen = found.Select(f => f.Number).ToHashSet();
        foreach (var (number, raw) in Rules.FindPhoneNumbers(html).Where(n => seen.Add(n.Number)))
            found.Add(new PageNumber(number, raw, "source", "", null));
        return (found, problems);

        void AddTelephone(string raw, string where)
        {
            var trimmed = Uri.UnescapeDataString(raw.Trim());
            if (Rules.ToE164(trimmed) is { } number) found.Add(new PageNumber(number, trimmed, where, "", null));
            else if (trimmed.Length > 0) problems.Add($"the {where} telephone \"{trimmed}\" is not a valid phone number");
        }
    }

    private static IEnumerable<string> Telephones(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.NameEquals("telephone") && property.Value.ValueKind == JsonValueKind.String) yield return property.Value.GetString()!;
                    else if (property.NameEquals("telephone") && property.Value.ValueKind == JsonValueKind.Array)
                        foreach (var item in property.Value.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.String)) yield return item.GetString()!;
                    else foreach (var nested in Telephones(property.Value)) yield return nested;
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    foreach (var nested in Telephones(item)) yield return nested;
                break;
        }
    }

    /// <param name="napPhones">Each location's canonical number → its location id.</param>
    /// <param name="numbers">The directory's entries for the numbers found (the tenant's own only).</param>
    /// <param name="expectedLocation">When the page is one location's page, its structured data must carry that location's napPhone.</param>
    public static PageLintReport Judge(List<PageNumber> found, List<string> problems, IReadOnlyDictionary<string, string> napPhones,
        IReadOnlyDictionary<string, TrackingNumber> numbers, string? expectedLocation)
    {
        var judged = found.Select(n =>
            napPhones.TryGetValue(n.Number, out var nap) ? n with { Kind = "nap", Location = nap }
            : numbers.TryGetValue(n.Number, out var known) ? n with { Kind = known.Use == "unassigned" ? "unassigned-tracking" : known.Use, Location = known.LocationId }
            : n with { Kind = "unknown" }).ToList();

        var findings = problems.Select(p => new NapFinding(NapAudit.Warning, "unreadable-structured-data", expectedLocation ?? "", null, null, p)).ToList();
        foreach (var leaked in judged.Where(n => n.Kind is "pool" or "overflow").DistinctBy(n => n.Number))
            findings.Add(new NapFinding(NapAudit.Critical, "pool-number-in-html", leaked.Location ?? "", null, null,
                $"{leaked.Raw} ({leaked.Number}) is a {leaked.Kind} number of pool '{numbers[leaked.Number].PoolId}' in the served HTML ({leaked.Where}): " +
                "crawlers and citation scrapers will publish a session number. Serve the canonical number and let the script swap it."));
        foreach (var structured in judged.Where(n => n.Where is "json-ld" or "microdata").DistinctBy(n => (n.Number, n.Where)))
        {
            var wrong = structured.Kind != "nap" || (expectedLocation is not null && structured.Location != expectedLocation);
            if (wrong)
                findings.Add(new NapFinding(NapAudit.Warning, "structured-data-not-nap", expectedLocation ?? structured.Location ?? "", null, null,
                    $"the {structured.Where} telephone {structured.Number} is {Describe(structured)}, not " +
                    (expectedLocation is null ? "a location's napPhone." : $"the napPhone of '{expectedLocation}'.")));
        }
        return new PageLintReport(
            judged.Where(n => n.Where == "json-ld").ToList(),
            judged.Where(n => n.Where == "microdata").ToList(),
            judged.Where(n => n.Where is "text" or "tel-link").ToList(),
            findings);
    }

    private static string Describe(PageNumber n) => n.Kind switch
    {
        "nap" => $"the napPhone of '{n.Location}'",
        "static" => $"a static number of '{n.Location}'",
        "pool" or "overflow" => $"a {n.Kind} tracking number",
        "unassigned-tracking" => "a tracking number with no use",
        _ => "not a number of this brand",
    };
}
