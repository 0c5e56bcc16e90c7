using System.Globalization;
using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Jobs;
using CallMesh.Locations;
using CallMesh.Reports;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// Reports read rollup buckets (<see cref="RollupStore"/>), never the calls: a brand report is one aggregate over the
/// day rows of the locations in the caller's scope, and its totals are the sum of its rows. Each answer says which
/// conversion-rules version its history reflects (docs/history.md).
/// </summary>
public static class ReportsApi
{
    /// <summary>A report line: counts, money and the ratios derived from them.</summary>
    public sealed record ReportLine(decimal Calls, decimal Answered, decimal Missed, decimal FirstTime, decimal Qualified,
        decimal Appointments, decimal Sales, Dictionary<string, decimal> Outcomes, decimal Revenue, decimal? AvgDurationSeconds,
        decimal Spend, decimal? CostPerCall, decimal? CostPerQualifiedCall, decimal? Roas, decimal Voicemails, decimal? AnswerRate,
        decimal? AvgRingSeconds, decimal Texts)
    {
        public static ReportLine From(Measures m) => new(m.Calls, m.Answered, m.Missed, m.FirstTime, m.Qualified,
            m.Outcomes.GetValueOrDefault("appointment"), m.Outcomes.GetValueOrDefault("sale"), m.Outcomes, m.Revenue,
            m.Calls == 0 ? null : decimal.Round(m.DurationSeconds / m.Calls, 1),
            m.Spend,
            m.Calls == 0 || m.Spend == 0 ? null : decimal.Round(m.Spend / m.Calls, 2),
            m.Qualified == 0 || m.Spend == 0 ? null : decimal.Round(m.Spend / m.Qualified, 2),
            m.Spend == 0 ? null : decimal.Round(m.Revenue / m.Spend, 4),
            m.Voicemails, m.Calls == 0 ? null : decimal.Round(m.Answered / m.Calls, 4),
            // Over the answered calls whose wait is known (calls recorded before ring times were kept have none).
            m.RingTimed == 0 ? null : decimal.Round(m.RingSeconds / m.RingTimed, 1), m.Texts);
    }

    public sealed record LocationRow(string? Location, string? Market, ReportLine Measures);

    public sealed record GroupRow(string Key, string? Source, string? Campaign, ReportLine Measures);

    /// <summary>The tenant's conversion-rules version, and the one its history was last rebuilt under (equal: every call
    /// counts under today's rules; else calls before the last change count under the rules of their day).</summary>
    public sealed record RulesResource(int Version, int HistoryVersion, DateTime? RebuiltAt, DateOnly? CallsKeptFrom)
    {
        public bool HistoryCurrent => Version == HistoryVersion;
    }

    public sealed record JobAccepted(Guid JobId, string Status);

    public sealed record LocationsReportResource(DateOnly From, DateOnly To, string Model, string? Currency, RulesResource Rules,
        List<LocationRow> Items, ReportLine Totals);

    public sealed record MarketRow(string? Market, int Locations, ReportLine Measures);

    public sealed record MarketsReportResource(DateOnly From, DateOnly To, string? Currency, RulesResource Rules, List<MarketRow> Items,
        ReportLine Totals);

    /// <summary>One location's rows by <c>GroupBy</c>; <c>HalfLifeDays</c> only under the time-decay model.</summary>
    public sealed record LocationReportResource(string Location, DateOnly From, DateOnly To, string GroupBy, string Model, double? HalfLifeDays,
        string? Currency, RulesResource Rules, List<GroupRow> Items, ReportLine Totals);

    /// <summary>A day of the overview: its measures and its calls by the source credited last.</summary>
    public sealed record DayLine(DateOnly Day, ReportLine Measures, Dictionary<string, decimal> CallsBySource);

    /// <summary>The overview: every day of the range, its totals, and the totals of the period as long just before it.</summary>
    public sealed record DailyReport(DateOnly From, DateOnly To, DateOnly PreviousFrom, DateOnly PreviousTo, string? Currency,
        RulesResource Rules, List<DayLine> Days, ReportLine Totals, ReportLine Previous);

    private static readonly string[] GroupBys = ["day", "source", "campaign", "keyword"];

    /// <summary>How long each report took (metric callmesh.report.duration, tagged with the report's route).</summary>
    private static async ValueTask<object?> RecordDuration(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await next(context);
        var http = context.HttpContext;
        if (HttpMethods.IsGet(http.Request.Method))
            http.RequestServices.GetRequiredService<CallMeshMetrics>().ReportDuration.Record(
                System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("report", (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText));
        return result;
    }

    public static RouteGroupBuilder MapReportsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}").WithTags("Reports").RequireAuthorization();
        group.AddEndpointFilter(RecordDuration);
        group.MapGet("/reports/locations", LocationsReport)
            .WithSummary("A row per location in the caller's scope for local days from..to (yyyy-MM-dd, default the last 30 days), " +
                         "with spend, cost per call, cost per qualified call and ROAS; `market` narrows to one market. Brand-wide readers " +
                         "also get a row with location null: calls to numbers of no location and spend assigned to none. Totals are the sum of the rows.");
        group.MapGet("/reports/markets", MarketsReport)
            .WithSummary("A row per market (the sum of its locations in the caller's scope; market null for locations without one).");
        group.MapGet("/reports/daily", Daily)
            .WithSummary("Every local day from..to (default the last 30) in the caller's scope, or one `market` or `location` of it: " +
                         "calls, answered, missed, qualified, revenue and spend per day, calls per day by source (last touch), the " +
                         "range's totals, and the totals of the period as long just before it (`previous`), for the dashboard's overview.");
        group.MapGet("/reports/answering", Answering)
            .WithSummary("How the phones were answered, local days from..to (default the last 30) in the caller's scope, one `market` or " +
                         "`location` of it: answered, missed, voicemails, answer rate, after-hours share, average wait before an answer and " +
                         "answers per ring step, in total, per location, and per weekday and hour of each location's own time (staffing).");
        group.MapGet("/locations/{location}/report", LocationReport)
            .WithSummary("One location's report by day, source, campaign or keyword. `model` (first-touch, last-touch (default), linear, " +
                         "time-decay with `halfLifeDays` (default 7), position-based) shares each call among the visitor's touches " +
                         "before it; by day a call is whole. Spend joins source and campaign rows.");
        group.MapPost("/locations/{location}/report/rebuild", RebuildLocation)
            .WithSummary("Rebuild one location's rollups from its calls now, requalifying them under its current conversion rules " +
                         "(brand-admin); answers calls read, buckets written, buckets that differed and calls requalified.");
        group.MapPost("/rollups/rebuild", RebuildAll)
            .WithSummary("Rebuild every location's rollups from the calls under the current conversion rules, as a job (brand-admin): " +
                         "202 with the job id; GET …/jobs/{jobId} shows its progress. Reports keep answering from the old buckets " +
                         "until each location's new ones commit.");
        return group;
    }

    public static async Task<Results<Ok<LocationsReportResource>, ValidationProblem, ProblemHttpResult>> LocationsReport(string tenant,
        string? from, string? to, string? market, string? model, HttpContext http, IGrainFactory grains, RollupStore rollups,
        RollupRebuilder rebuilder)
    {
        var caller = Caller.From(http.User);
        if (DenyRead(caller, tenant) is { } denied) return denied;
        var errors = new ValidationErrors();
        var range = Range(from, to, errors);
        Model(model, errors);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        var rows = await LocationRows(caller, tenant, market, range, grains, rollups, http);
        var facts = await TenantFacts(tenant, grains, rebuilder);
        return TypedResults.Ok(new LocationsReportResource(range.From, range.To, model ?? AttributionModels.LastTouch, facts.Currency, facts.Rules,
            [.. rows.Select(r => new LocationRow(r.Location, r.Market, ReportLine.From(r.Measures)))],
            ReportLine.From(Measures.Sum(rows.Select(r => r.Measures)))));
    }

    public static async Task<Results<Ok<MarketsReportResource>, ValidationProblem, ProblemHttpResult>> MarketsReport(string tenant,
        string? from, string? to, HttpContext http, IGrainFactory grains, RollupStore rollups, RollupRebuilder rebuilder)
    {
        var caller = Caller.From(http.User);
        if (DenyRead(caller, tenant) is { } denied) return denied;
        var errors = new ValidationErrors();
        var range = Range(from, to, errors);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        var rows = (await LocationRows(caller, tenant, null, range, grains, rollups, http)).Where(r => r.Location is not null).ToList();
        var markets = rows.GroupBy(r => r.Market).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new MarketRow(g.Key, g.Count(), ReportLine.From(Measures.Sum(g.Select(r => r.Measures))))).ToList();
        var facts = await TenantFacts(tenant, grains, rebuilder);
        return TypedResults.Ok(new MarketsReportResource(range.From, range.To, facts.Currency, facts.Rules, markets,
            ReportLine.From(Measures.Sum(rows.Select(r => r.Measures)))));
    }

    public static async Task<Results<Ok<LocationReportResource>, ValidationProblem, ProblemHttpResult>> LocationReport(string tenant,
        string location, string? from, string? to, string? groupBy, string? model, double? halfLifeDays, HttpContext http, IGrainFactory grains,
        RollupStore rollups, RollupRebuilder rebuilder, CallStore calls)
    {
        var caller = Caller.From(http.User);
        if (caller.SeesTenant(tenant) && caller.LacksScope("reports:read")) return Problems.Forbidden("read reports");
        if (await Access.VisibleLocation(caller, tenant, location, grains) is null) return Problems.NotFound("location");
        var errors = new ValidationErrors();
        var range = Range(from, to, errors);
        var chosenModel = Model(model, errors);
        if (groupBy is not null && !GroupBys.Contains(groupBy)) errors.Add("groupBy", $"must be one of {string.Join(", ", GroupBys)}.");
        if (halfLifeDays is not null and (< 0.1 or > 365)) errors.Add("halfLifeDays", "must be from 0.1 to 365.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var query = new ReportQuery(range.From, range.To, groupBy ?? "day", chosenModel, halfLifeDays ?? AttributionModels.DefaultHalfLifeDays);
        var rowsTask = rollups.ReportAsync(tenant, location, query, async () =>
            [.. (await calls.ForRollupAsync(tenant, location, range.From, range.To)).Select(Contributions.From)]);
        var totals = await rollups.TotalsAsync(tenant, location, range.From, range.To);
        var rows = await rowsTask;
        var facts = await TenantFacts(tenant, grains, rebuilder);
        var ordered = query.GroupBy == "day"
            ? rows.OrderBy(r => r.Key, StringComparer.Ordinal)
            : rows.OrderByDescending(r => r.Measures.Calls).ThenByDescending(r => r.Measures.Spend).ThenBy(r => r.Key, StringComparer.Ordinal);
        return TypedResults.Ok(new LocationReportResource(location, range.From, range.To, query.GroupBy, query.Model,
            query.Model == AttributionModels.TimeDecay ? query.HalfLifeDays : null, facts.Currency, facts.Rules,
            [.. ordered.Select(r => new GroupRow(r.Key, r.Source, r.Campaign, ReportLine.From(r.Measures)))], ReportLine.From(totals)));
    }

    public static async Task<Results<Ok<RebuildResult>, ProblemHttpResult>> RebuildLocation(string tenant, string location, HttpContext http,
        IGrainFactory grains, RollupRebuilder rebuilder)
    {
        var caller = Caller.From(http.User);
        if (caller.SeesTenant(tenant) && caller.LacksScope("reports:read")) return Problems.Forbidden("read reports");
        if (await Access.VisibleLocation(caller, tenant, location, grains) is null) return Problems.NotFound("location");
        if (!caller.ConfiguresTenant(tenant)) return Problems.Forbidden("rebuild reports");
        return TypedResults.Ok((await rebuilder.RebuildAsync(tenant, location))!);   // null only when a job's step refuses
    }

    public static async Task<Results<Accepted<JobAccepted>, ProblemHttpResult>> RebuildAll(string tenant, HttpContext http, IGrainFactory grains,
        JobStore jobs)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "reports") is { } denied) return denied;
        if (await grains.GetGrain<ITenantGrain>(tenant).Get() is null) return Problems.NotFound("tenant");
        var jobId = await jobs.CreateAsync(tenant, "rollup-rebuild", caller.Subject);
        await grains.GetGrain<IRollupRebuildGrain>(jobId).Resume();
        return TypedResults.Accepted($"/v1/tenants/{tenant}/jobs/{jobId}", new JobAccepted(jobId, JobStates.Queued));
    }

    /// <summary>The caller's locations (and, for brand-wide readers without a market filter, the unassigned row): one aggregate.</summary>
    private static async Task<List<(string? Location, string? Market, Measures Measures)>> LocationRows(Caller caller, string tenant, string? market,
        (DateOnly From, DateOnly To) range, IGrainFactory grains, RollupStore rollups, HttpContext http)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var locations = (await Access.VisibleLocations(caller, tenant, grains))
            .Where(l => market is null || l.Market == market).Select(l => (Location: (string?)l.LocationId, l.Market)).ToList();
        if (market is null && caller.SeesWholeTenant(tenant)) locations.Add((null, null));
        var scoped = System.Diagnostics.Stopwatch.GetTimestamp();
        var wholeTenant = market is null && caller.SeesWholeTenant(tenant);
        var totals = await rollups.TotalsByLocationAsync(tenant,
            wholeTenant ? null : [.. locations.Select(l => l.Location ?? RollupStore.Unassigned)], range.From, range.To);
        // Where a slow report spends its time, for operators (browsers' dev tools show it too).
        http.Response.Headers["Server-Timing"] =
            $"scope;dur={System.Diagnostics.Stopwatch.GetElapsedTime(started, scoped).TotalMilliseconds:F1}, " +
            $"rollups;dur={System.Diagnostics.Stopwatch.GetElapsedTime(scoped).TotalMilliseconds:F1}";
        return [.. locations.Select(l => (l.Location, l.Market, totals.GetValueOrDefault(l.Location ?? RollupStore.Unassigned, Measures.Zero)))];
    }

    /// <summary>The tenant-wide reports' access rule: another tenant is not found; a key without reports:read is refused.</summary>
    private static ProblemHttpResult? DenyRead(Caller caller, string tenant) =>
        !caller.SeesTenant(tenant) ? Problems.NotFound("tenant") : caller.LacksScope("reports:read") ? Problems.Forbidden("read reports") : null;

    /// <summary>GET …/reports/daily: the overview's days, their totals and the period before (see the summary where it is mapped).</summary>
    public static async Task<Results<Ok<DailyReport>, ValidationProblem, ProblemHttpResult>> Daily(string tenant, string? from, string? to, string? market, string? location, HttpContext http,
        IGrainFactory grains, RollupStore rollups, RollupRebuilder rebuilder)
    {
        var caller = Caller.From(http.User);
        if (DenyRead(caller, tenant) is { } denied) return denied;
        var errors = new ValidationErrors();
        var range = Range(from, to, errors);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        // The locations summed: one the caller sees, the caller's locations (of one market), or the whole tenant, calls to
        // numbers of no location included (as the locations report's totals).
        IReadOnlyCollection<string>? scope;
        if (location is not null)
        {
            if (await Access.VisibleLocation(caller, tenant, location, grains) is null) return Problems.NotFound("location");
            scope = [location];
        }
        else if (market is null && caller.SeesWholeTenant(tenant)) scope = null;
        else scope = [.. (await Access.VisibleLocations(caller, tenant, grains)).Where(l => market is null || l.Market == market).Select(l => l.LocationId)];

        var length = range.To.DayNumber - range.From.DayNumber + 1;
        var (previousFrom, previousTo) = (range.From.AddDays(-length), range.From.AddDays(-1));
        var daysTask = rollups.DailyAsync(tenant, scope, range.From, range.To);
        var previous = await rollups.TotalsByLocationAsync(tenant, scope, previousFrom, previousTo);
        var days = await daysTask;
        var facts = await TenantFacts(tenant, grains, rebuilder);
        return TypedResults.Ok(new DailyReport(range.From, range.To, previousFrom, previousTo, facts.Currency, facts.Rules,
            [.. days.Select(d => new DayLine(d.Day, ReportLine.From(d.Measures), d.CallsBySource))],
            ReportLine.From(Measures.Sum(days.Select(d => d.Measures))), ReportLine.From(Measures.Sum(previous.Values))));
    }

    public static async Task<Results<Ok<AnsweringReport>, ValidationProblem, ProblemHttpResult>> Answering(string tenant, string? from, string? to,
        string? market, string? location, HttpContext http, IGrainFactory grains, AnsweringQuery answering)
    {
        var caller = Caller.From(http.User);
        if (DenyRead(caller, tenant) is { } denied) return denied;
        var errors = new ValidationErrors();
        var range = Range(from, to, errors);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        List<string> scope;
        if (location is not null)
        {
            if (await Access.VisibleLocation(caller, tenant, location, grains) is null) return Problems.NotFound("location");
            scope = [location];
        }
        else scope = [.. (await Access.VisibleLocations(caller, tenant, grains)).Where(l => market is null || l.Market == market).Select(l => l.LocationId)];

        // Each location's hours are its own: its time zone, else the brand's.
        var tenantZone = (await grains.GetGrain<ITenantGrain>(tenant).Get())?.Config.TimeZone ?? "UTC";
        var configs = await Task.WhenAll(scope.Select(id => grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, id)).Get()));
        var zones = scope.Zip(configs).ToDictionary(p => p.First, p => p.Second?.Config.TimeZone ?? tenantZone, StringComparer.Ordinal);
        return TypedResults.Ok(await answering.ComputeAsync(tenant, zones, range.From, range.To));
    }

    /// <summary>What every report says of its tenant: its currency, and which rules version its history reflects (one read of each).</summary>
    private static async Task<(string? Currency, RulesResource Rules)> TenantFacts(string tenant, IGrainFactory grains, RollupRebuilder rebuilder)
    {
        var stateTask = rebuilder.StateAsync(tenant);
        var snapshot = await grains.GetGrain<ITenantGrain>(tenant).Get();
        var state = await stateTask;
        return (snapshot?.Config.Currency, new RulesResource(snapshot?.RulesVersion ?? 0, state.RulesVersion, state.RebuiltAt, state.CallsKeptFrom));
    }

    /// <summary>Local days, inclusive; by default the 30 days up to today (UTC).</summary>
    private static (DateOnly From, DateOnly To) Range(string? from, string? to, ValidationErrors errors)
    {
        DateOnly? Parse(string field, string? value)
        {
            if (value is null) return null;
            if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)) return day;
            errors.Add(field, "must be a date as yyyy-MM-dd.");
            return null;
        }
        var end = Parse("to", to) ?? DateOnly.FromDateTime(DateTime.UtcNow);
        var start = Parse("from", from) ?? end.AddDays(-29);
        if (start > end) errors.Add("from", "must not be after to.");
        else if (end.DayNumber - start.DayNumber > 731) errors.Add("to", "must be at most two years after from.");
        return (start, end);
    }

    private static string Model(string? model, ValidationErrors errors)
    {
        if (model is null) return AttributionModels.LastTouch;
        if (!AttributionModels.All.Contains(model)) errors.Add("model", $"must be one of {string.Join(", ", AttributionModels.All)}.");
        return model;
    }
}
