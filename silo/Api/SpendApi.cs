using System.Globalization;
using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Reports;
using CallMesh.Silo.Database;
using CallMesh.Silo.Hosting;
using CallMesh.Tenants;
using CsvHelper;
using CsvHelper.Configuration;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>Daily ad spend, imported as JSON or as the CSV an ad platform exports.</summary>
public static class SpendApi
{
    /// <summary>A row as received; cost stays text until validation (CSV cells are text, JSON may send a number or a string).</summary>
    public sealed record SpendLine(string? Date, string? Location, string? Source, string? Campaign, string? Cost, string? Currency);

    public sealed record SpendJsonRow(string? Date, string? Location, string? Source, string? Campaign, System.Text.Json.JsonElement Cost, string? Currency);

    public sealed record SpendBody(List<SpendJsonRow>? Rows);

    private const int MaxRows = 20_000;

    public static RouteGroupBuilder MapSpendApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}").WithTags("Reports").RequireAuthorization();

        group.MapPost("/spend", ImportSpend)
        .Accepts<SpendBody>("application/json", "text/csv")
        .WithSummary("Import daily spend (brand-admin or a spend:write key): JSON {rows:[{date, location?, source, campaign, cost, currency}]} " +
                     "or CSV with those columns (Google Ads names such as Day, Cost and Currency code work; preamble lines are skipped; " +
                     "?source= fills a missing source column). A (date, location, source, campaign) imported again replaces its cost; " +
                     "any invalid row rejects the whole import.");

        return group;
    }

    public static async Task<Results<Ok<SpendImported>, ValidationProblem, ProblemHttpResult>> ImportSpend(string tenant, string? source,
        HttpContext http, IGrainFactory grains, SpendStore store, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        if (!caller.ConfiguresTenant(tenant) && !caller.HasScope("spend:write")) return Problems.Forbidden("import spend");
        var currency = (await grains.GetGrain<ITenantGrain>(tenant).Get())?.Config.Currency;
        if (currency is null) return Problems.NotFound("tenant");

        var (lines, invalid, refused) = await ReadLines(http.Request, source);
        if (invalid is not null) return invalid;
        if (refused is not null) return refused;
        var locations = (await grains.GetGrain<ITenantGrain>(tenant).ListLocations()).Select(l => l.LocationId).ToHashSet();
        var (rows, errors) = Validate(lines!, currency, locations);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var replaced = await store.ReplaceAsync(tenant, rows);   // reports read the spend table as it is
        await audit.RecordAsync(tenant, "spend", "import", caller.Subject, new { rows = rows.Count, replaced });
        return TypedResults.Ok(new SpendImported(rows.Count, replaced, currency));
    }

    public sealed record SpendImported(int Imported, int Replaced, string Currency);

    /// <summary>The body's lines, or why it cannot be read: a validation problem, or another refusal (media type, NUL, bad JSON).</summary>
    private static async Task<(List<SpendLine>? Lines, ValidationProblem? Invalid, ProblemHttpResult? Refused)> ReadLines(HttpRequest request,
        string? defaultSource)
    {
        var mediaType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType == "text/csv")
        {
            using var reader = new StreamReader(request.Body);
            var text = await reader.ReadToEndAsync();
            if (StorableText.Holds(text)) return (null, null, Problems.Problem(StatusCodes.Status400BadRequest, "malformed-request", StorableText.Title));
            return ParseCsv(text, defaultSource) is { } lines
                ? (lines, null, null)
                : (null, Problems.Invalid("csv", "needs a header row with date (or day) and cost columns."), null);
        }
        if (mediaType != "application/json")
            return (null, null, Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Send application/json or text/csv."));
        try
        {
            var body = await request.ReadFromJsonAsync<SpendBody>();
            return body?.Rows is { } rows
                ? (rows.Select(r => new SpendLine(r.Date, r.Location, r.Source ?? defaultSource, r.Campaign, r.Cost.ValueKind switch
                {
                    System.Text.Json.JsonValueKind.Number => r.Cost.GetRawText(),
                    System.Text.Json.JsonValueKind.String => r.Cost.GetString(),
                    _ => null,
                }, r.Currency)).ToList(), null, null)
                : (null, Problems.Invalid("rows", "is required."), null);
        }
        catch (System.Text.Json.JsonException)
        {
            return (null, null, Problems.Problem(StatusCodes.Status400BadRequest, "malformed-request", "The body is not valid JSON of the expected shape."));
        }
    }

    // Column names as ad platforms export them, by what they mean here.
    private static readonly Dictionary<string, string[]> Columns = new()
    {
        ["date"] = ["date", "day"],
        ["location"] = ["location", "location id", "location_id"],
        ["source"] = ["source", "platform", "network"],
        ["campaign"] = ["campaign", "campaign name"],
        ["cost"] = ["cost", "spend", "amount", "amount spent"],
        ["currency"] = ["currency", "currency code"],
    };

    /// <summary>The CSV's rows, or null without a recognisable header. Lines before the header (report titles, date ranges) are skipped.</summary>
    private static List<SpendLine>? ParseCsv(string text, string? defaultSource)
    {
        using var csv = new CsvParser(new StringReader(text), new CsvConfiguration(CultureInfo.InvariantCulture) { DetectDelimiter = true });
        Dictionary<string, int>? header = null;
        var lines = new List<SpendLine>();
        while (csv.Read())
        {
            var record = csv.Record ?? [];
            if (header is null)
            {
                var names = record.Select(f => f.Trim().ToLowerInvariant()).ToList();
                var found = Columns.ToDictionary(c => c.Key, c => names.FindIndex(n => c.Value.Contains(n)));
                if (found["date"] >= 0 && found["cost"] >= 0) header = found;
                continue;
            }
            if (record.All(string.IsNullOrWhiteSpace)) continue;
            // Google Ads ends its exports with "Total: …" rows.
            if (record[0].TrimStart().StartsWith("total", StringComparison.OrdinalIgnoreCase)) continue;
            string? Field(string name) => header[name] is var i and >= 0 && i < record.Length && record[i].Trim() is { Length: > 0 } v ? v : null;
            lines.Add(new SpendLine(Field("date"), Field("location"), Field("source") ?? defaultSource, Field("campaign"), Field("cost"), Field("currency")));
        }
        return header is null ? null : lines;
    }

    private static (List<SpendRow>, ValidationErrors) Validate(List<SpendLine> lines, string currency, HashSet<string> locations)
    {
        var errors = new ValidationErrors();
        var rows = new List<SpendRow>();
        if (lines.Count is 0 or > MaxRows) errors.Add("rows", $"must hold 1 to {MaxRows} rows.");
        var seen = new Dictionary<(DateOnly, string?, string, string), int>();
        for (var i = 0; i < lines.Count && i < MaxRows; i++)
        {
            var line = lines[i];
            var at = $"rows[{i}]";
            var before = errors.Count;
            if (!DateOnly.TryParseExact(line.Date?.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                errors.Add($"{at}.date", "must be a date as yyyy-MM-dd.");
            var location = string.IsNullOrWhiteSpace(line.Location) ? null : line.Location.Trim();
            if (location is not null && !locations.Contains(location)) errors.Add($"{at}.location", $"'{location}' is not a location of this tenant.");
            var source = line.Source?.Trim().ToLowerInvariant();
            if (string.IsNullOrEmpty(source) || source.Length > 100) errors.Add($"{at}.source", "is required (at most 100 characters).");
            var campaign = line.Campaign?.Trim() ?? "";
            if (campaign.Length > 200) errors.Add($"{at}.campaign", "must be at most 200 characters.");
            if (!decimal.TryParse(line.Cost?.Trim(), NumberStyles.Number, CultureInfo.InvariantCulture, out var cost) || cost < 0 || cost > 1_000_000_000)
                errors.Add($"{at}.cost", "must be a number from 0 to 1000000000.");
            else if (cost != decimal.Round(cost, 2))
                errors.Add($"{at}.cost", "must have at most two decimals.");
            var rowCurrency = line.Currency?.Trim().ToUpperInvariant() ?? currency;
            if (rowCurrency != currency)
                errors.Add($"{at}.currency", $"is {rowCurrency}, but this tenant reports in {currency}: convert the spend before importing it.");
            if (errors.Count != before) continue;
            if (seen.TryGetValue((day, location, source!, campaign), out var first))
            {
                errors.Add($"{at}", $"repeats rows[{first}] (same date, location, source and campaign).");
                continue;
            }
            seen[(day, location, source!, campaign)] = i;
            rows.Add(new SpendRow(day, location, source!, campaign, cost, currency));
        }
        return (rows, errors);
    }
}
