using CallMesh.Locations;
using CallMesh.Numbers;

namespace CallMesh.Nap;

/// <summary>
/// The rules of a NAP audit: what a location's citations may publish. The phone must be the location's
/// canonical <c>napPhone</c> or one of its static numbers for listings (medium gbp or citation); a pool
/// or overflow number anywhere is critical, because it is leased to website visitors and every call
/// from that listing is credited to whoever held it. Names and addresses must match after normalization.
/// </summary>
public static class NapAudit
{
    public const string Critical = "critical";
    public const string Warning = "warning";

    /// <summary>Static media whose numbers are meant to be published in listings.</summary>
    public static readonly string[] ListingMedia = ["gbp", "citation"];

    /// <param name="numbers">The directory's entries for the citations' phones (numbers the tenant does not own are absent).</param>
    public static List<NapFinding> Check(string locationId, LocationConfig location, IReadOnlyList<Citation> citations,
        IReadOnlyDictionary<string, TrackingNumber> numbers)
    {
        var findings = new List<NapFinding>();
        void Add(string severity, string code, Citation citation, string message) =>
            findings.Add(new NapFinding(severity, code, locationId, citation.Key, citation.Url, message));

        var name = NapText.Name(location.Name ?? "");
        var address = location.Address is { } a ? NapText.Address(a) : "";
        foreach (var citation in citations)
        {
            if (PhoneProblem(locationId, location, citation.Phone, numbers) is var (severity, code, message))
                Add(severity, code, citation, message);
            if (NapText.Name(citation.Name) != name)
                Add(Warning, "name-mismatch", citation, $"publishes the name \"{citation.Name}\"; the location's name is \"{location.Name}\".");
            if (NapText.Address(citation.Address) != address)
                Add(Warning, "address-mismatch", citation, $"publishes the address \"{citation.Address}\", which is not the location's address after normalization.");
        }

        // The same listing registered twice, or two listings of one location on one publisher: directories
        // merge or suppress duplicates, and calls split between them.
        foreach (var group in citations.GroupBy(c => NapText.Url(c.Url)).Where(g => g.Count() > 1))
            foreach (var citation in group.Skip(1))
                Add(Warning, "duplicate-listing", citation, $"is the same page as citation '{group.First().Key}'.");
        foreach (var group in citations.GroupBy(c => c.Publisher.Trim().ToLowerInvariant()).Where(g => g.Select(c => NapText.Url(c.Url)).Distinct().Count() > 1))
            foreach (var citation in group.Skip(1))
                Add(Warning, "duplicate-listing", citation, $"is a second listing of this location on {citation.Publisher} (first: '{group.First().Key}').");
        return findings;
    }

    /// <summary>Why a published phone is wrong for this location, or null when it is its NAP phone or an approved listing number.</summary>
    public static (string Severity, string Code, string Message)? PhoneProblem(string locationId, LocationConfig location, string phone,
        IReadOnlyDictionary<string, TrackingNumber> numbers)
    {
        if (phone == location.NapPhone) return null;
        if (!numbers.TryGetValue(phone, out var known))
            return (Warning, "unapproved-phone", $"publishes {phone}, which is neither the location's napPhone nor one of its listing numbers.");
        return known.Use switch
        {
            "pool" or "overflow" => (Critical, "pool-number-published",
                $"publishes {phone}, a {known.Use} number of pool '{known.PoolId}': it is leased to website visitors, so calls from this listing are credited to them."),
            "static" when known.LocationId == locationId && ListingMedia.Contains(known.Medium) => null,
            "static" when known.LocationId == locationId => (Warning, "unapproved-phone",
                $"publishes {phone}, the location's {known.Medium} number: calls from this listing will be credited to {known.Medium}."),
            "static" => (Warning, "unapproved-phone", $"publishes {phone}, a static number of location '{known.LocationId}'."),
            _ => (Warning, "unapproved-phone", $"publishes {phone}, a tracking number with no use: its calls are not attributed."),
        };
    }
}
