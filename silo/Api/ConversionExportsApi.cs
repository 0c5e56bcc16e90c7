using System.Globalization;
using CallMesh.Identity;
using CallMesh.Outbound;
using CallMesh.Tenants;
using CsvHelper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// Ad-platform conversion files (docs/outbound.md): Google Ads click conversions (GCLID, GBRAID, WBRAID), enhanced conversions
/// for leads (the caller's hashed number, for calls with no click id), adjustments of values that changed later, call
/// conversions (calls through Google forwarding numbers) and Microsoft Ads offline conversions (MSCLKID). Brand admins
/// download them; the platforms fetch them on a schedule from the destination's token URL.
/// </summary>
public static class ConversionExportsApi
{
    private static readonly TimeSpan DefaultWindow = TimeSpan.FromDays(30), MaxWindow = TimeSpan.FromDays(90);

    private static readonly string[] Files =
        ["google-ads/click-conversions", "google-ads/enhanced-conversions", "google-ads/conversion-adjustments", "google-ads/call-conversions",
         "microsoft-ads/offline-conversions"];

    public static IEndpointRouteBuilder MapConversionExportsApi(this IEndpointRouteBuilder routes)
    {
        var tenantGroup = routes.MapGroup("/v1/tenants/{tenant}/exports").WithTags("Conversions").RequireAuthorization();
        foreach (var file in Files)
            tenantGroup.MapGet($"/{file}.csv", (string tenant, DateTime? from, DateTime? to, string? destination, HttpContext http,
                    IGrainFactory grains, DestinationStore destinations, ConversionFiles conversions) =>
                    ForAdmin(file, tenant, from, to, destination, http, grains, destinations, conversions))
                .Produces<string>(StatusCodes.Status200OK, "text/csv")
                .WithSummary($"The {file} upload file for calls started in [from, to) (default the last 30 days, at most 90), with the " +
                             "settings of the tenant's destination of that platform (`destination`, else its first); brand-admin.");
        // Fetched by the ad platform, which holds no user token: the destination's feed token is the credential.
        var feeds = routes.MapGroup("/v1/feeds/{token}").WithTags("Conversions").AllowAnonymous();
        foreach (var file in Files)
            feeds.MapGet($"/{file}.csv", (string token, DateTime? from, DateTime? to, IGrainFactory grains, DestinationStore destinations,
                    ConversionFiles conversions) => ForFeed(file, token, from, to, grains, destinations, conversions))
                .Produces<string>(StatusCodes.Status200OK, "text/csv")
                .WithSummary($"The {file} file of the destination whose feed token this is (scheduled uploads).");
        return routes;
    }

    public static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> ForAdmin(string file, string tenant, DateTime? from, DateTime? to, string? destinationId,
        HttpContext http, IGrainFactory grains, DestinationStore destinations, ConversionFiles conversions)
    {
        if (Access.DenyConfigure(Caller.From(http.User), tenant, "conversion files") is { } denied) return denied;
        var kind = file.StartsWith("google-ads") ? DestinationKinds.GoogleAds : DestinationKinds.MicrosoftAds;
        Destination? destination = null;
        if (destinationId is not null)
        {
            destination = await destinations.GetAsync(tenant, destinationId);
            if (destination is null || destination.Kind != kind) return Problems.NotFound($"{kind} destination");
        }
        destination ??= (await destinations.ListAsync(tenant, kind)).FirstOrDefault();
        return await Render(file, tenant, from, to, destination, grains, conversions);
    }

    public static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> ForFeed(string file, string token, DateTime? from, DateTime? to, IGrainFactory grains,
        DestinationStore destinations, ConversionFiles conversions)
    {
        var kind = file.StartsWith("google-ads") ? DestinationKinds.GoogleAds : DestinationKinds.MicrosoftAds;
        if (token.Length > 100 || await destinations.ByFeedTokenAsync(token) is not { } destination || destination.Kind != kind)
            return Problems.NotFound("feed");
        if (destination.State != DestinationStates.Active) return Problems.Problem(StatusCodes.Status409Conflict, "paused", "This destination is paused.");
        return await Render(file, destination.TenantId, from, to, destination, grains, conversions);
    }

    private static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> Render(string file, string tenant, DateTime? from, DateTime? to, Destination? destination,
        IGrainFactory grains, ConversionFiles conversions)
    {
        var end = (to ?? DateTime.UtcNow).ToUniversalTime();
        var start = (from ?? end - DefaultWindow).ToUniversalTime();
        if (start >= end) return Problems.Invalid("to", "must be after from.");
        if (end - start > MaxWindow) return Problems.Invalid("from", "a file covers at most 90 days (the platforms take clicks up to 90 days old).");
        var config = (await grains.GetGrain<ITenantGrain>(tenant).Get())?.Config;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(config?.TimeZone ?? "UTC");
        var currency = config?.Currency ?? "USD";
        var settings = destination?.Settings ?? new DestinationSettings();
        var filters = destination?.Filters ?? new DestinationFilters();
        var name = settings.ConversionName ?? "Qualified Call";
        var defaultValue = settings.DefaultValue ?? 0m;
        string Local(DateTime utc) => TimeZoneInfo.ConvertTimeFromUtc(utc, zone).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        string Money(decimal value) => value.ToString("0.00", CultureInfo.InvariantCulture);

        using var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\r\n" };
        using (var csv = new CsvWriter(text, CultureInfo.InvariantCulture))
        {
            void Row(params string?[] fields)
            {
                foreach (var field in fields) csv.WriteField(field ?? "");
                csv.NextRecord();
            }
            // Google's files name their time zone once, in a parameters row, so every time is the tenant's local wall clock.
            if (file.StartsWith("google-ads")) text.Write($"Parameters:TimeZone={zone.Id}\r\n");
            switch (file)
            {
                case "google-ads/click-conversions":
                    Row("Google Click ID", "GBRAID", "WBRAID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency", "Order ID");
                    // One click id a row: the gclid when there is one, else the iOS app or web id.
                    foreach (var r in await conversions.RowsAsync(tenant, ConversionFile.GoogleClicks, name, defaultValue, filters, start, end))
                        Row(r.Gclid, r.Gclid is null ? r.Gbraid : null, r.Gclid is null && r.Gbraid is null ? r.Wbraid : null, name,
                            Local(r.ConversionTime), Money(r.Value), currency, r.CallId);
                    break;
                case "google-ads/enhanced-conversions":
                    Row("Email", "Phone Number", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency", "Order ID");
                    foreach (var r in await conversions.RowsAsync(tenant, ConversionFile.GoogleLeads, name, defaultValue, filters, start, end))
                        Row(null, ConversionHashing.GooglePhone(r.Caller), name, Local(r.ConversionTime), Money(r.Value), currency, r.CallId);
                    break;
                case "google-ads/conversion-adjustments":
                    Row("Order ID", "Conversion Name", "Adjustment Time", "Adjustment Type", "Adjusted Value", "Adjusted Value Currency");
                    foreach (var a in await conversions.AdjustmentsAsync(tenant, defaultValue, start, end))
                        Row(a.CallId, a.ConversionName, Local(a.At), a.Type, a.Type == "RESTATE" ? Money(a.Value) : null, a.Type == "RESTATE" ? currency : null);
                    break;
                case "google-ads/call-conversions":
                    var callName = settings.CallConversionName ?? name;
                    Row("Caller's Phone Number", "Call Start Time", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency");
                    foreach (var r in await conversions.RowsAsync(tenant, ConversionFile.GoogleCalls, callName, defaultValue, filters, start, end))
                        Row(r.Caller, Local(r.StartedAt), callName, Local(r.ConversionTime), Money(r.Value), currency);
                    break;
                default:
                    // Microsoft's bulk format: a Format Version row, then one Offline Conversion a call; times in UTC.
                    Row("Type", "Status", "Id", "Parent Id", "Client Id", "Name", "Conversion Currency Code", "Conversion Name", "Conversion Time",
                        "Conversion Value", "Microsoft Click Id");
                    Row("Format Version", null, null, null, null, "6.0", null, null, null, null, null);
                    foreach (var r in await conversions.RowsAsync(tenant, ConversionFile.MicrosoftClicks, name, defaultValue, filters, start, end))
                        Row("Offline Conversion", null, null, null, r.CallId, null, currency, name,
                            r.ConversionTime.ToString("M/d/yyyy h:mm:ss tt", CultureInfo.InvariantCulture), Money(r.Value), r.Msclkid);
                    break;
            }
        }
        return TypedResults.Text(text.ToString(), "text/csv; charset=utf-8");
    }
}
