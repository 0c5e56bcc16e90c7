using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Calls;
using CallMesh.Identity;
using CallMesh.Reports;
using CallMesh.Silo.Demo;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Bench;

/// <summary>
/// The brand-wide locations report of a big brand: 1,000 locations in four time zones and about a million calls
/// over 90 days (written with COPY, once; later runs reuse them), warm through the gateway, against the same
/// report computed by SQL GROUP BY over the calls table in the same run.
/// </summary>
public sealed class ReportScenario(HttpClient http, string postgres, string signingKey)
{
    public const string Tenant = "bench-report";
    private const int Locations = 1000, Days = 90, CallsPerLocation = 1000;
    private static readonly string[] Zones = ["America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles"];

    // Marketing mixes a multi-location brand sees: paid search, social, maps, organic, offline media.
    private static readonly (string Source, string Medium, string? Campaign, string? Keyword)[] Sources =
    [
        ("google", "cpc", "search-brand", "plumber near me"), ("google", "cpc", "search-generic", "emergency plumber"),
        ("google", "cpc", "pmax", null), ("bing", "cpc", "search-brand", "plumber"), ("facebook", "paid-social", "spring-promo", null),
        ("google", "gbp", "gbp-listing", null), ("google", "organic", null, null), ("direct", "none", null, null),
        ("lamar", "billboard", "i35-north", null), ("kxyz", "radio", "morning-drive", null),
    ];

    private string Admin => UserTokens.Mint(signingKey, Tenant, Roles.BrandAdmin);

    public async Task<DateOnly> SeedAsync()
    {
        await using var db = NpgsqlDataSource.Create(postgres);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var existing = (long)(await db.CreateCommand($"SELECT count(*) FROM callmesh.calls WHERE tenant_id = '{Tenant}'").ExecuteScalarAsync())!;
        if (existing >= (long)Locations * CallsPerLocation)
        {
            Console.WriteLine($"report: reusing {existing:N0} calls of tenant {Tenant} seeded by an earlier run");
            // Rollups of calls seeded before they were persisted (migration 0013): rebuilt once.
            if (await db.CreateCommand($"SELECT rebuilt_at FROM callmesh.rollup_state WHERE tenant_id = '{Tenant}'").ExecuteScalarAsync() is null or DBNull)
                await RebuildAsync(Admin, Stopwatch.StartNew());
            var last = await db.CreateCommand($"SELECT max(local_day) FROM callmesh.calls WHERE tenant_id = '{Tenant}'").ExecuteScalarAsync();
            return (DateOnly)last!;
        }

        var clock = Stopwatch.StartNew();
        await DemoSeeder.SendAsync(http, HttpMethod.Put, UserTokens.Mint(signingKey, null, Roles.PlatformAdmin), $"/v1/tenants/{Tenant}",
            new { name = "Report Bench Brand", timeZone = "America/Chicago", currency = "USD" });
        var admin = Admin;
        await Parallel.ForEachAsync(Enumerable.Range(0, Locations), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (l, _) =>
            await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{Tenant}/locations/{LocationId(l)}", new
            {
                name = $"Store {l}", address = new { line1 = $"{l} Main St", city = "Austin", region = "TX", postalCode = "78701", country = "US" },
                napPhone = Phone("512", l), forwardTo = Phone("737", l), timeZone = Zones[l % Zones.Length], market = $"market-{l % 25}",
            }));
        Console.WriteLine($"report: {Locations} locations created in {clock.Elapsed.TotalSeconds:F0} s");

        await using (var connection = await db.OpenConnectionAsync())
        {
            await using (var clear = new NpgsqlCommand(
                       $"DELETE FROM callmesh.calls WHERE tenant_id = '{Tenant}'; DELETE FROM callmesh.call_keys WHERE tenant_id = '{Tenant}'; " +
                       $"DELETE FROM callmesh.spend WHERE tenant_id = '{Tenant}'", connection))
                await clear.ExecuteNonQueryAsync();
            await CopyCallsAsync(connection, today, clock);
            await CopySpendAsync(connection, today);
            // The calls went in behind CallMesh's back: their keys, then their rollups by the rebuild job a brand admin would run.
            await using (var keys = new NpgsqlCommand(
                       $"INSERT INTO callmesh.call_keys (call_id, tenant_id, started_at) SELECT call_id, tenant_id, started_at FROM callmesh.calls WHERE tenant_id = '{Tenant}'",
                       connection)
            { CommandTimeout = 600 })
                await keys.ExecuteNonQueryAsync();
        }
        await RebuildAsync(admin, clock);
        Console.WriteLine($"report: seeded in {clock.Elapsed.TotalSeconds:F0} s");
        return today;
    }

    /// <summary>Runs a rollup rebuild job through the API and waits for it.</summary>
    private async Task RebuildAsync(string admin, Stopwatch clock)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/tenants/{Tenant}/rollups/rebuild");
        request.Headers.Authorization = new("Bearer", admin);
        using var started = await http.SendAsync(request);
        started.EnsureSuccessStatusCode();
        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();
        while (true)
        {
            await Task.Delay(1000);
            using var poll = new HttpRequestMessage(HttpMethod.Get, $"/v1/tenants/{Tenant}/jobs/{jobId}");
            poll.Headers.Authorization = new("Bearer", admin);
            using var response = await http.SendAsync(poll);
            var job = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (job.GetProperty("state").GetString() == "done") break;
            if (job.GetProperty("state").GetString() == "failed") throw new InvalidOperationException($"rollup rebuild failed: {job}");
        }
        Console.WriteLine($"report: rollups rebuilt by job {jobId} at {clock.Elapsed.TotalSeconds:F0} s");
    }

    private static string LocationId(int l) => $"store-{l:D4}";

    private static string Phone(string area, int l) => $"+1{area}{300 + l / 100:D3}{l % 100 * 100 + 1:D4}";

    private static async Task CopyCallsAsync(NpgsqlConnection connection, DateOnly today, Stopwatch clock)
    {
        var random = new Random(90);
        var routing = JsonSerializer.Serialize(new CallRouting("dial", "open", "+17375550100", "+14155550100", false, null));
        var zones = Zones.Select(TimeZoneInfo.FindSystemTimeZoneById).ToArray();
        var start = today.AddDays(-Days + 1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        const int total = Locations * CallsPerLocation;
        await using var writer = await connection.BeginBinaryImportAsync(
            """
            COPY callmesh.calls (call_id, tenant_id, location_id, account_sid, tracking_number, number_kind, caller, started_at, ended_at, status,
                answered, duration_seconds, talk_seconds, route, routing, source, medium, campaign, keyword, first_time, first_time_location,
                within_hours, qualified, outcome, value, currency, local_day, touches, revision, match) FROM STDIN (FORMAT BINARY)
            """);
        for (var n = 0; n < total; n++)
        {
            var l = n % Locations;
            var startedAt = start.AddSeconds(random.NextDouble() * Days * 86400);
            var (source, medium, campaign, keyword) = Sources[random.Next(Sources.Length)];
            var answered = random.Next(10) < 7;
            var talk = answered ? random.Next(5, 900) : 0;
            var outcome = answered && random.Next(100) < 20 ? (random.Next(3) == 0 ? "sale" : "appointment") : null;
            decimal? value = outcome == "sale" ? random.Next(50, 5000) + random.Next(100) / 100m : null;
            var touches = random.Next(10) < 3
                ? JsonSerializer.Serialize(new[] { new CallTouch(startedAt.AddDays(-3), "facebook", "paid-social", "spring-promo", null),
                                                   new CallTouch(startedAt.AddHours(-1), source, medium, campaign, keyword) })
                : "[]";
            await writer.StartRowAsync();
            await writer.WriteAsync($"CAbench{n:D10}");
            await writer.WriteAsync(Tenant);
            await writer.WriteAsync(LocationId(l));
            await writer.WriteAsync("ACbench");
            await writer.WriteAsync(Phone("512", l));
            await writer.WriteAsync("static");
            await writer.WriteAsync($"+1415{random.Next(200, 1000)}{random.Next(10_000):D4}");
            await writer.WriteAsync(startedAt, NpgsqlDbType.TimestampTz);
            await writer.WriteAsync(startedAt.AddSeconds(talk + 15), NpgsqlDbType.TimestampTz);
            await writer.WriteAsync("completed");
            await writer.WriteAsync(answered);
            await writer.WriteAsync(talk + 15);
            await writer.WriteAsync(talk);
            await writer.WriteAsync("open");
            await writer.WriteAsync(routing, NpgsqlDbType.Jsonb);
            await writer.WriteAsync(source);
            await writer.WriteAsync(medium);
            await Nullable(writer, campaign);
            await Nullable(writer, keyword);
            await writer.WriteAsync(random.Next(10) < 6);
            await writer.WriteAsync(random.Next(10) < 7);
            await writer.WriteAsync(true);
            await writer.WriteAsync(answered && talk >= 60);
            await Nullable(writer, outcome);
            if (value is { } v) await writer.WriteAsync(v, NpgsqlDbType.Numeric); else await writer.WriteNullAsync();
            await Nullable(writer, value is null ? null : "USD");
            await writer.WriteAsync(DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(startedAt, zones[l % zones.Length])), NpgsqlDbType.Date);
            await writer.WriteAsync(touches, NpgsqlDbType.Jsonb);
            await writer.WriteAsync(1);
            await writer.WriteAsync("static");
            if ((n + 1) % 100_000 == 0)
                Console.Write($"\rreport: seeding calls {n + 1:N0} / {total:N0} ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        await writer.CompleteAsync();
        Console.WriteLine();
    }

    private static Task Nullable(NpgsqlBinaryImporter writer, string? value) =>
        value is null ? writer.WriteNullAsync() : writer.WriteAsync(value, NpgsqlDbType.Text);

    /// <summary>A day of paid-search spend per location, and brand-wide social spend assigned to no location.</summary>
    private static async Task CopySpendAsync(NpgsqlConnection connection, DateOnly today)
    {
        var random = new Random(91);
        await using var writer = await connection.BeginBinaryImportAsync(
            "COPY callmesh.spend (tenant_id, day, location_id, source, campaign, cost, currency) FROM STDIN (FORMAT BINARY)");
        for (var d = 0; d < Days; d++)
        {
            var day = today.AddDays(-d);
            for (var l = -1; l < Locations; l++)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync(Tenant);
                await writer.WriteAsync(day, NpgsqlDbType.Date);
                await writer.WriteAsync(l < 0 ? "" : LocationId(l));
                await writer.WriteAsync(l < 0 ? "facebook" : "google");
                await writer.WriteAsync(l < 0 ? "spring-promo" : "search-generic");
                await writer.WriteAsync(random.Next(500, 20_000) / 100m, NpgsqlDbType.Numeric);
                await writer.WriteAsync("USD");
            }
        }
        await writer.CompleteAsync();
    }

    /// <summary>The brand-wide locations report through the gateway; answers each location's (calls, revenue, spend).</summary>
    public async Task<Dictionary<string, (decimal Calls, decimal Revenue, decimal Spend)>> ReportAsync(DateOnly from, DateOnly to)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/tenants/{Tenant}/reports/locations?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}");
        request.Headers.Authorization = new("Bearer", Admin);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        return report.GetProperty("items").EnumerateArray().ToDictionary(r => r.GetProperty("location").GetString() ?? "",
            r => r.GetProperty("measures") is var m ? (m.GetProperty("calls").GetDecimal(), m.GetProperty("revenue").GetDecimal(), m.GetProperty("spend").GetDecimal()) : default);
    }

    /// <summary>The same report as one SQL statement: GROUP BY location over the calls table, joined to spend.</summary>
    public static async Task<Dictionary<string, (decimal Calls, decimal Revenue, decimal Spend)>> SqlReportAsync(NpgsqlDataSource db, DateOnly from, DateOnly to)
    {
        await using var command = db.CreateCommand(
            """
            WITH c AS (
                SELECT coalesce(location_id, '') AS location, count(*) AS calls, count(*) FILTER (WHERE answered) AS answered,
                       count(*) FILTER (WHERE ended_at IS NOT NULL AND NOT answered) AS missed, count(*) FILTER (WHERE first_time) AS first_time,
                       count(*) FILTER (WHERE qualified) AS qualified, count(*) FILTER (WHERE outcome = 'appointment') AS appointments,
                       count(*) FILTER (WHERE outcome = 'sale') AS sales, coalesce(sum(value) FILTER (WHERE outcome IS NOT NULL), 0) AS revenue,
                       sum(duration_seconds) AS duration
                  FROM callmesh.calls
                 WHERE tenant_id = $1 AND local_day BETWEEN $2 AND $3 AND NOT is_test AND route <> 'blocked'
                 GROUP BY 1),
            s AS (SELECT location_id AS location, sum(cost) AS spend FROM callmesh.spend WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 GROUP BY 1)
            SELECT coalesce(c.location, s.location), coalesce(c.calls, 0), coalesce(c.revenue, 0), coalesce(s.spend, 0)
              FROM c FULL JOIN s ON s.location = c.location
            """);
        command.Parameters.Add(new() { Value = Tenant });
        command.Parameters.Add(new() { Value = from });
        command.Parameters.Add(new() { Value = to });
        var rows = new Dictionary<string, (decimal, decimal, decimal)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows[reader.GetString(0)] = (reader.GetInt64(1), reader.GetDecimal(2), reader.GetDecimal(3));
        return rows;
    }
}
