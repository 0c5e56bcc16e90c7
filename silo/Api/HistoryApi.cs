using System.Globalization;
using System.Text;
using System.Text.Json;
using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Database;
using CallMesh.Silo.History;
using CsvHelper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>The tenant's history: how long calls are kept, erasing a caller, and exports for the brand's warehouse (docs/history.md).</summary>
public static class HistoryApi
{
    public sealed record RetentionBody(int? CallMonths);

    /// <summary><c>CallMonths</c> null: calls are kept as long as the deployment keeps them (<c>DeploymentDefaultMonths</c>, null: always).</summary>
    public sealed record RetentionResource(int? CallMonths, int? DeploymentDefaultMonths);

    public sealed record EraseBody(string? PhoneNumber);

    public sealed record ErasureResource(int CallsChanged, int VisitorsChanged, bool Unblocked, int AuditEntriesChanged, int OutboxEventsChanged);

    private const int DefaultExportRows = 100_000, MaxExportRows = 1_000_000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static RouteGroupBuilder MapHistoryApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}").WithTags("History").RequireAuthorization();
        group.MapGet("/retention", GetRetention).WithSummary("How many months of calls and lease history the tenant keeps (brand-admin).");
        group.MapPut("/retention", PutRetention)
            .WithSummary("Keep this many months (1–240) of calls and lease history; null keeps them as long as the deployment does. " +
                         "Older calls are deleted by the next maintenance round; rollups keep their counts (brand-admin).");
        group.MapPost("/privacy/erase", Erase)
            .WithSummary("Erase a caller (brand-admin): their number, recording links and links to web visits leave every call, " +
                         "the blocklist and the audit log; reports keep the counts. Answers what changed.");
        group.MapGet("/exports/calls.csv", ExportCsv).Produces<string>(StatusCodes.Status200OK, "text/csv")
            .WithSummary("Calls in the caller's scope as CSV with a header row, oldest first, from ≤ startedAt < to; at most `limit` " +
                         $"({DefaultExportRows:N0} by default, up to {MaxExportRows:N0}) per response, the next page in the Link header (rel=next).");
        group.MapGet("/exports/calls.ndjson", ExportNdjson).Produces<string>(StatusCodes.Status200OK, "application/x-ndjson")
            .WithSummary("The same export as newline-delimited JSON: one call per line, as the calls API shows it.");
        return group;
    }

    public static async Task<Results<Ok<RetentionResource>, ProblemHttpResult>> GetRetention(string tenant, HttpContext http, Retention retention, HistoryOptions options)
    {
        if (Access.DenyConfigure(Caller.From(http.User), tenant, "retention") is { } denied) return denied;
        return TypedResults.Ok(new RetentionResource(await retention.GetAsync(tenant), options.DefaultCallMonths));
    }

    public static async Task<Results<Ok<RetentionResource>, ValidationProblem, ProblemHttpResult>> PutRetention(string tenant, RetentionBody body, HttpContext http, IGrainFactory grains,
        Retention retention, HistoryOptions options, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "retention") is { } denied) return denied;
        if (body.CallMonths is < 1 or > 240) return Problems.Invalid("callMonths", "must be from 1 to 240 months, or null to keep calls.");
        if (await grains.GetGrain<Tenants.ITenantGrain>(tenant).Get() is null) return Problems.NotFound("tenant");
        await retention.SetAsync(tenant, body.CallMonths);
        await audit.RecordAsync(tenant, "retention", tenant, caller.Subject, body);
        return TypedResults.Ok(new RetentionResource(body.CallMonths, options.DefaultCallMonths));
    }

    public static async Task<Results<Ok<ErasureResource>, ValidationProblem, ProblemHttpResult>> Erase(string tenant, EraseBody body, HttpContext http, Erasure erasure)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "caller data") is { } denied) return denied;
        if (body.PhoneNumber is null) return Problems.Invalid("phoneNumber", "is required.");
        if (Rules.PhoneNumberError(body.PhoneNumber) is { } error) return Problems.Invalid("phoneNumber", error);
        var result = await erasure.EraseAsync(tenant, body.PhoneNumber, caller.Subject);
        return TypedResults.Ok(new ErasureResource(result.CallsChanged, result.VisitorsChanged, result.Unblocked, result.AuditEntriesChanged,
            result.OutboxEventsChanged));
    }

    public static Task<Results<PushStreamHttpResult, ValidationProblem, ProblemHttpResult>> ExportCsv(string tenant, DateTime? from,
        DateTime? to, string? cursor, int? limit, HttpContext http, IGrainFactory grains, CallStore calls) =>
        Export(tenant, from, to, cursor, limit, http, grains, calls, csv: true);

    public static Task<Results<PushStreamHttpResult, ValidationProblem, ProblemHttpResult>> ExportNdjson(string tenant, DateTime? from,
        DateTime? to, string? cursor, int? limit, HttpContext http, IGrainFactory grains, CallStore calls) =>
        Export(tenant, from, to, cursor, limit, http, grains, calls, csv: false);

    private static async Task<Results<PushStreamHttpResult, ValidationProblem, ProblemHttpResult>> Export(string tenant, DateTime? from, DateTime? to, string? cursor, int? limit, HttpContext http,
        IGrainFactory grains, CallStore calls, bool csv)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        if (caller.LacksScope("calls:read")) return Problems.Forbidden("read calls");
        var errors = new ValidationErrors();
        if (limit is < 1 or > MaxExportRows) errors.Add("limit", $"must be from 1 to {MaxExportRows}.");
        var after = cursor is null ? null : CallsApi.ParseCursor(cursor);
        if (cursor is not null && after is null) errors.Add("cursor", "must be a cursor this API gave out.");
        if (from is not null && to is not null && from >= to) errors.Add("from", "must be before to.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        IReadOnlyCollection<string>? locations = null;
        if (!caller.SeesWholeTenant(tenant))
            locations = (await Access.VisibleLocations(caller, tenant, grains)).Select(l => l.LocationId).ToList();
        var query = new CallQuery(tenant, locations, from?.ToUniversalTime(), to?.ToUniversalTime(), after, limit ?? DefaultExportRows);
        if (await calls.ExportNextAsync(query) is { } next)
        {
            var request = http.Request;
            var parameters = request.Query.Where(q => q.Key != "cursor").Select(q => $"{q.Key}={Uri.EscapeDataString(q.Value.ToString())}")
                .Append($"cursor={CallsApi.Cursor(next.StartedAt, next.CallId)}");
            http.Response.Headers.Link = $"<{request.PathBase}{request.Path}?{string.Join('&', parameters)}>; rel=\"next\"";
        }
        var rows = calls.ExportAsync(query);
        return csv
            ? TypedResults.Stream(stream => WriteCsv(stream, rows, caller), "text/csv; charset=utf-8", $"calls-{tenant}.csv")
            : TypedResults.Stream(stream => WriteNdjson(stream, rows, caller), "application/x-ndjson");
    }

    // Rows are formatted into a buffer and copied to the response a chunk at a time: Kestrel allows no synchronous writes,
    // and memory stays at one chunk whatever the export's size.
    private const int ChunkBytes = 256 * 1024;

    private static async Task WriteNdjson(Stream body, IAsyncEnumerable<CallRecord> rows, Caller viewer)
    {
        var chunk = new MemoryStream();
        await foreach (var call in rows)
        {
            JsonSerializer.Serialize(chunk, CallsApi.ToResource(call, viewer), Json);
            chunk.WriteByte((byte)'\n');
            if (chunk.Length >= ChunkBytes) await Send(chunk, body);
        }
        await Send(chunk, body);
    }

    private static async Task WriteCsv(Stream body, IAsyncEnumerable<CallRecord> rows, Caller viewer)
    {
        var chunk = new MemoryStream();
        await using var text = new StreamWriter(chunk, new UTF8Encoding(false), 16 * 1024, leaveOpen: true);
        await using var csv = new CsvWriter(text, CultureInfo.InvariantCulture);
        // The header names the fields as the calls API's JSON does.
        foreach (var property in typeof(ExportRow).GetProperties().Where(p => p.Name != "EqualityContract"))
            csv.WriteField(JsonNamingPolicy.CamelCase.ConvertName(property.Name));
        csv.NextRecord();
        await foreach (var call in rows)
        {
            csv.WriteRecord(ExportRow.From(CallsApi.ToResource(call, viewer)));
            csv.NextRecord();
            if (chunk.Length >= ChunkBytes)
            {
                csv.Flush();
                await Send(chunk, body);
            }
        }
        csv.Flush();
        await Send(chunk, body);
    }

    private static async Task Send(MemoryStream chunk, Stream body)
    {
        if (chunk.Length == 0) return;
        await body.WriteAsync(chunk.GetBuffer().AsMemory(0, (int)chunk.Length));
        chunk.SetLength(0);
    }

    /// <summary>A call as one CSV line: the calls API's fields, lists joined with ';'.</summary>
    private sealed record ExportRow(string Id, string? Location, string TrackingNumber, string NumberKind, string? Pool, string? StaticKey,
        string Caller, string StartedAt, string? EndedAt, string Status, bool Answered, int DurationSeconds, int TalkSeconds, string Route,
        string Source, string Medium, string? Campaign, string? Keyword, string? Gclid, string? LandingPage, Guid? VisitorId,
        Guid? SessionId, bool FirstTime, bool Qualified, string MetRules, string? Outcome, decimal? Value, string? Currency, string Match)
    {
        public static ExportRow From(CallResource c) => new(c.Id, c.Location, c.TrackingNumber, c.NumberKind, c.Pool, c.StaticKey,
            c.Caller, c.StartedAt.ToString("O"), c.EndedAt?.ToString("O"), c.Status, c.Answered, c.DurationSeconds, c.TalkSeconds, c.Route,
            c.Source, c.Medium, c.Campaign, c.Keyword, c.Gclid, c.LandingPage, c.VisitorId, c.SessionId, c.FirstTime, c.Qualified,
            string.Join(';', c.MetRules), c.Outcome, c.Value, c.Currency, c.Match);
    }
}
