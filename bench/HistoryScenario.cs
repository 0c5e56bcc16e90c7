using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Calls;
using CallMesh.Identity;
using CallMesh.Reports;
using CallMesh.Silo.Demo;
using CallMesh.Tenants;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Bench;

/// <summary>
/// `--scenarios history` (docs/history.md): years of calls at constant cost. Loads a brand of 1,000 locations with calls
/// over two years in two stages — the last 73 days first (a tenth), then the 657 days before — through the real schema
/// (`COPY` into the partitioned calls table and call keys; bucket rows worked out by the same <see cref="Contributions"/>
/// and <see cref="RollupBuckets"/> the call path uses, then copied), and after each stage times the reports, the insert
/// of a new call and a caller lookup, and reads the silos' memory: none of them should grow with history.
/// </summary>
public sealed class HistoryScenario(HttpClient http, string postgres, string signingKey, string state, long totalCalls, int locations)
{
    public const string Tenant = "bench-history";
    private const int Days = 730, RecentDays = 73;

    private static readonly (string Source, string Medium, string? Campaign, string? Keyword)[] Sources =
    [
        ("google", "cpc", "search-brand", "plumber near me"), ("google", "cpc", "search-generic", "emergency plumber"),
        ("google", "cpc", "pmax", null), ("bing", "cpc", "search-brand", "plumber"), ("facebook", "paid-social", "spring-promo", null),
        ("google", "gbp", "gbp-listing", null), ("google", "organic", null, null), ("direct", "none", null, null),
        ("lamar", "billboard", "i35-north", null), ("kxyz", "radio", "morning-drive", null),
    ];

    private static readonly ConversionRules Rules = new(RequireAnswered: true, MinDurationSeconds: 60);
    private readonly DateOnly _today = DateOnly.FromDateTime(DateTime.UtcNow);
    private string Admin => UserTokens.Mint(signingKey, Tenant, Roles.BrandAdmin);

    private static string LocationId(int l) => $"h-{l:D4}";

    public async Task RunAsync()
    {
        await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(postgres) { CommandTimeout = 3600 }.ConnectionString);
        var existing = (long)(await db.CreateCommand($"SELECT count(*) FROM callmesh.call_keys WHERE tenant_id = '{Tenant}'").ExecuteScalarAsync())!;
        var stages = new List<(string Name, int FromDaysAgo, int ToDaysAgo, long Calls)>
        {
            ("recent", RecentDays - 1, 0, totalCalls * RecentDays / Days),
            ("all", Days - 1, RecentDays, totalCalls - totalCalls * RecentDays / Days),
        };
        if (existing >= totalCalls)
        {
            Console.WriteLine($"history: reusing {existing:N0} calls of {Tenant}");
            await MeasureAsync(db, $"{existing:N0} calls (reused)");
            return;
        }
        if (existing > 0)
        {
            Console.WriteLine($"history: {existing:N0} calls of an unfinished load; clearing them");
            foreach (var table in new[] { "calls", "call_keys", "rollup_days", "rollup_touches", "rollup_months", "rollup_state" })
                await db.CreateCommand($"DELETE FROM callmesh.{table} WHERE tenant_id = '{Tenant}'").ExecuteNonQueryAsync();
        }
        await CreateBrandAsync();
        await db.CreateCommand($"SELECT callmesh.ensure_call_partitions('{_today.AddDays(-Days - 31):yyyy-MM-dd}', '{_today:yyyy-MM-dd}')").ExecuteNonQueryAsync();
        var loaded = 0L;
        foreach (var stage in stages)
        {
            var clock = Stopwatch.StartNew();
            loaded += await LoadAsync(db, stage.FromDaysAgo, stage.ToDaysAgo, stage.Calls, stage.Name == "recent" ? 0 : 1);
            Console.WriteLine($"history: stage {stage.Name}: {stage.Calls:N0} calls with their rollups loaded in {clock.Elapsed.TotalSeconds:F0} s");
            await db.CreateCommand("ANALYZE callmesh.calls, callmesh.call_keys, callmesh.rollup_days, callmesh.rollup_touches, callmesh.rollup_months")
                .ExecuteNonQueryAsync();
            await MeasureAsync(db, $"{loaded:N0} calls");
        }
        await db.CreateCommand($"INSERT INTO callmesh.rollup_state (tenant_id, rebuilt_at) VALUES ('{Tenant}', now()) ON CONFLICT DO NOTHING")
            .ExecuteNonQueryAsync();
    }

    private async Task CreateBrandAsync()
    {
        var clock = Stopwatch.StartNew();
        await DemoSeeder.SendAsync(http, HttpMethod.Put, UserTokens.Mint(signingKey, null, Roles.PlatformAdmin), $"/v1/tenants/{Tenant}",
            new { name = "History Bench Brand", timeZone = "America/Chicago", currency = "USD", defaultConversionRules = Rules });
        var admin = Admin;
        await Parallel.ForEachAsync(Enumerable.Range(0, locations), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (l, _) =>
            await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{Tenant}/locations/{LocationId(l)}", new
            {
                name = $"Store {l}", address = new { line1 = $"{l} Main St", city = "Austin", region = "TX", postalCode = "78701", country = "US" },
                napPhone = $"+1512{400 + l / 100:D3}{l % 100 * 100 + 1:D4}", forwardTo = $"+1737{400 + l / 100:D3}{l % 100 * 100 + 1:D4}",
                timeZone = "UTC", market = $"market-{l % 25}",
            }));
        Console.WriteLine($"history: {locations} locations created in {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>
    /// One stage: each location's calls over the stage's days, oldest first, copied with their keys; the location's
    /// day and touch buckets copied after its calls, its months upserted at the end (the stages share a month).
    /// </summary>
    private async Task<long> LoadAsync(NpgsqlDataSource db, int fromDaysAgo, int toDaysAgo, long calls, int stage)
    {
        var random = new Random(2026 + stage);
        var first = _today.AddDays(-fromDaysAgo).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var span = (fromDaysAgo - toDaysAgo + 1) * 86400.0;
        var routing = JsonSerializer.Serialize(new CallRouting("dial", "open", "+17375550100", "+14155550100", false, null));
        await using var callsConnection = await db.OpenConnectionAsync();
        await using var keysConnection = await db.OpenConnectionAsync();
        await using var daysConnection = await db.OpenConnectionAsync();
        await using var touchesConnection = await db.OpenConnectionAsync();
        await using var callWriter = await callsConnection.BeginBinaryImportAsync(
            """
            COPY callmesh.calls (call_id, tenant_id, location_id, account_sid, tracking_number, number_kind, caller, started_at, ended_at, status,
                answered, duration_seconds, talk_seconds, route, routing, source, medium, campaign, keyword, first_time, first_time_location,
                within_hours, qualified, met_rules, outcome, value, currency, local_day, touches, revision, match) FROM STDIN (FORMAT BINARY)
            """);
        await using var keyWriter = await keysConnection.BeginBinaryImportAsync("COPY callmesh.call_keys (call_id, tenant_id, started_at) FROM STDIN (FORMAT BINARY)");
        var measures = string.Join(", ", RollupStore.MeasureColumns);
        await using var dayWriter = await daysConnection.BeginBinaryImportAsync(
            $"COPY callmesh.rollup_days (tenant_id, location_id, day, {measures}) FROM STDIN (FORMAT BINARY)");
        await using var touchWriter = await touchesConnection.BeginBinaryImportAsync(
            $"COPY callmesh.rollup_touches (tenant_id, location_id, day, model, source, medium, campaign, keyword, {measures}) FROM STDIN (FORMAT BINARY)");
        var months = new Dictionary<(string Location, DateOnly Month), Measures>();
        var perLocation = calls / locations;
        long n = 0;
        var clock = Stopwatch.StartNew();
        for (var l = 0; l < locations; l++)
        {
            var location = LocationId(l);
            var buckets = new RollupBuckets();
            var count = perLocation + (l < calls % locations ? 1 : 0);
            var times = Enumerable.Range(0, (int)count).Select(_ => first.AddSeconds(random.NextDouble() * span)).Order().ToList();
            foreach (var startedAt in times)
            {
                var call = NewCall($"CAhist{stage}{n++:D12}", location, startedAt, random);
                await WriteCallAsync(callWriter, keyWriter, call, routing);
                buckets.Add(Contributions.From(call), +1);
            }
            foreach (var (day, m) in buckets.Days.OrderBy(d => d.Key))
            {
                await dayWriter.StartRowAsync();
                await dayWriter.WriteAsync(Tenant);
                await dayWriter.WriteAsync(location);
                await dayWriter.WriteAsync(day, NpgsqlDbType.Date);
                await WriteMeasuresAsync(dayWriter, m);
                var month = RollupStore.MonthOf(day);
                months[(location, month)] = months.TryGetValue((location, month), out var sum) ? sum + m : m;
            }
            foreach (var (key, m) in buckets.Touches)
            {
                await touchWriter.StartRowAsync();
                await touchWriter.WriteAsync(Tenant);
                await touchWriter.WriteAsync(location);
                await touchWriter.WriteAsync(key.Day, NpgsqlDbType.Date);
                await touchWriter.WriteAsync(key.Model);
                await touchWriter.WriteAsync(key.Source);
                await touchWriter.WriteAsync(key.Medium);
                await touchWriter.WriteAsync(key.Campaign);
                await touchWriter.WriteAsync(key.Keyword);
                await WriteMeasuresAsync(touchWriter, m);
            }
            if ((l + 1) % 100 == 0) Console.Write($"\rhistory: {n:N0} / {calls:N0} calls ({clock.Elapsed.TotalSeconds:F0} s)   ");
        }
        Console.WriteLine();
        await callWriter.CompleteAsync();
        await keyWriter.CompleteAsync();
        await dayWriter.CompleteAsync();
        await touchWriter.CompleteAsync();

        // Months: the same sums as RollupStore.Apply adds, upserted (the first stage's oldest month is the second's newest).
        await using var upsert = db.CreateCommand(
            $"""
            INSERT INTO callmesh.rollup_months AS r (tenant_id, location_id, month, {measures})
            SELECT '{Tenant}', m.* FROM unnest($1::text[], $2::date[], {string.Join(", ", Enumerable.Range(3, 13).Select(i => $"${i}::bigint[]"))}) AS m
            ON CONFLICT (tenant_id, location_id, month) DO UPDATE SET {string.Join(", ", measures.Split(", ").Select(c => $"{c} = r.{c} + EXCLUDED.{c}"))}
            """);
        var rows = months.ToList();
        upsert.Parameters.Add(new() { Value = rows.Select(r => r.Key.Location).ToArray() });
        upsert.Parameters.Add(new() { Value = rows.Select(r => r.Key.Month).ToArray() });
        for (var c = 0; c < 13; c++)
        {
            var column = c;
            upsert.Parameters.Add(new() { Value = rows.Select(r => RollupStore.Scaled(r.Value, column)).ToArray() });
        }
        await upsert.ExecuteNonQueryAsync();
        return n;
    }

    private static CallRecord NewCall(string callId, string location, DateTime startedAt, Random random)
    {
        var (source, medium, campaign, keyword) = Sources[random.Next(Sources.Length)];
        var answered = random.Next(10) < 7;
        var talk = answered ? random.Next(5, 900) : 0;
        var outcome = answered && random.Next(100) < 20 ? (random.Next(3) == 0 ? "sale" : "appointment") : null;
        List<CallTouch> touches = random.Next(10) < 3
            ? [new CallTouch(startedAt.AddDays(-3), "facebook", "paid-social", "spring-promo", null), new CallTouch(startedAt.AddHours(-1), source, medium, campaign, keyword)]
            : [];
        var call = new CallRecord
        {
            CallId = callId, TenantId = Tenant, AccountSid = "ACbench", TrackingNumber = "+15125550100", Caller = $"+1415{random.Next(200, 1000)}{random.Next(10_000):D4}",
            StartedAt = startedAt, EndedAt = startedAt.AddSeconds(talk + 15), Status = "completed", Answered = answered, DurationSeconds = talk + 15,
            TalkSeconds = talk, Routing = new CallRouting("dial", "open", "+17375550100", "+14155550100", false, null),
            Attribution = new CallAttribution("static", null, null, location, source, medium, campaign, keyword, null, null, null, null, false, MatchKinds.Static),
            FirstTime = random.Next(10) < 6, FirstTimeForLocation = true, WithinHours = true, Outcome = outcome,
            Value = outcome == "sale" ? random.Next(50, 5000) + random.Next(100) / 100m : null, Currency = outcome == "sale" ? "USD" : null,
            LocalDay = DateOnly.FromDateTime(startedAt), Touches = touches, Revision = 1,
        };
        var (qualified, met) = Qualification.Evaluate(Rules, call);
        return call with { Qualified = qualified, MetRules = met };
    }

    private static async Task WriteCallAsync(NpgsqlBinaryImporter calls, NpgsqlBinaryImporter keys, CallRecord c, string routing)
    {
        var a = c.Attribution;
        await calls.StartRowAsync();
        await calls.WriteAsync(c.CallId);
        await calls.WriteAsync(Tenant);
        await calls.WriteAsync(a.LocationId!);
        await calls.WriteAsync(c.AccountSid);
        await calls.WriteAsync(c.TrackingNumber);
        await calls.WriteAsync(a.NumberKind);
        await calls.WriteAsync(c.Caller);
        await calls.WriteAsync(c.StartedAt, NpgsqlDbType.TimestampTz);
        await calls.WriteAsync(c.EndedAt!.Value, NpgsqlDbType.TimestampTz);
        await calls.WriteAsync(c.Status);
        await calls.WriteAsync(c.Answered);
        await calls.WriteAsync(c.DurationSeconds);
        await calls.WriteAsync(c.TalkSeconds);
        await calls.WriteAsync("open");
        await calls.WriteAsync(routing, NpgsqlDbType.Jsonb);
        await calls.WriteAsync(a.Source);
        await calls.WriteAsync(a.Medium);
        await Nullable(calls, a.Campaign);
        await Nullable(calls, a.Keyword);
        await calls.WriteAsync(c.FirstTime);
        await calls.WriteAsync(c.FirstTimeForLocation);
        await calls.WriteAsync(c.WithinHours);
        await calls.WriteAsync(c.Qualified);
        await calls.WriteAsync(c.MetRules.ToArray());
        await Nullable(calls, c.Outcome);
        if (c.Value is { } value) await calls.WriteAsync(value, NpgsqlDbType.Numeric); else await calls.WriteNullAsync();
        await Nullable(calls, c.Currency);
        await calls.WriteAsync(c.LocalDay, NpgsqlDbType.Date);
        await calls.WriteAsync(JsonSerializer.Serialize(c.Touches), NpgsqlDbType.Jsonb);
        await calls.WriteAsync(c.Revision);
        await calls.WriteAsync(a.Match);
        await keys.StartRowAsync();
        await keys.WriteAsync(c.CallId);
        await keys.WriteAsync(Tenant);
        await keys.WriteAsync(c.StartedAt, NpgsqlDbType.TimestampTz);
    }

    private static async Task Nullable(NpgsqlBinaryImporter writer, string? value)
    {
        if (value is null) await writer.WriteNullAsync(); else await writer.WriteAsync(value);
    }

    private static async Task WriteMeasuresAsync(NpgsqlBinaryImporter writer, Measures m)
    {
        for (var c = 0; c < 13; c++) await writer.WriteAsync(RollupStore.Scaled(m, c), NpgsqlDbType.Bigint);
    }

    /// <summary>The figures of one stage: reports through the gateway, the same report in SQL, a new call's insert, a caller lookup, silo memory.</summary>
    private async Task MeasureAsync(NpgsqlDataSource db, string label)
    {
        var admin = Admin;
        var last90 = $"from={_today.AddDays(-89):yyyy-MM-dd}&to={_today:yyyy-MM-dd}";
        var twoYears = $"from={_today.AddDays(-Days + 1):yyyy-MM-dd}&to={_today:yyyy-MM-dd}";
        async Task<double> Get(string path)
        {
            var started = Stopwatch.GetTimestamp();
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new("Bearer", admin);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadFromJsonAsync<JsonElement>();
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        async Task<(double P50, double P95)> Times(int runs, Func<Task<double>> run)
        {
            var times = new List<double>();
            for (var i = 0; i < runs; i++) times.Add(await run());
            times.Sort();
            return (times[(int)(runs * 0.5)], times[Math.Min(runs - 1, (int)Math.Ceiling(runs * 0.95) - 1)]);
        }
        string F((double P50, double P95) t) => $"p50 {t.P50,7:F1} ms  p95 {t.P95,7:F1} ms";

        Console.WriteLine($"history at {label}: silo memory {SiloMemory() / 1024 / 1024:N0} MB; calls table (every tenant) {await Scalar<string>(db,
            "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'callmesh.calls'::regclass")}");
        var cold = await Get($"/v1/tenants/{Tenant}/reports/locations?{last90}");
        Console.WriteLine($"  brand report, 90 days, first after the load:  {cold,7:F1} ms");
        for (var i = 0; i < 10; i++) await Get($"/v1/tenants/{Tenant}/reports/locations?{last90}");
        Console.WriteLine($"  brand report, 90 days (50):      {F(await Times(50, () => Get($"/v1/tenants/{Tenant}/reports/locations?{last90}")))}");
        Console.WriteLine($"  brand report, 2 years (20):      {F(await Times(20, () => Get($"/v1/tenants/{Tenant}/reports/locations?{twoYears}")))}");
        Console.WriteLine($"  market report, 90 days (20):     {F(await Times(20, () => Get($"/v1/tenants/{Tenant}/reports/markets?{last90}")))}");
        Console.WriteLine($"  one location, 2 years by day (20): {F(await Times(20, () => Get($"/v1/tenants/{Tenant}/locations/{LocationId(7)}/report?{twoYears}")))}");
        Console.WriteLine($"  one location, 2 years by source, linear (20): {F(await Times(20, () => Get($"/v1/tenants/{Tenant}/locations/{LocationId(7)}/report?{twoYears}&groupBy=source&model=linear")))}");
        Console.WriteLine($"  SQL GROUP BY over calls, brand 90 days (3): {F(await Times(3, async () =>
        {
            var started = Stopwatch.GetTimestamp();
            await using var command = db.CreateCommand(
                $"SELECT location_id, count(*), count(*) FILTER (WHERE answered), sum(value) FROM callmesh.calls WHERE tenant_id = '{Tenant}' " +
                $"AND local_day >= '{_today.AddDays(-89):yyyy-MM-dd}' GROUP BY location_id");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) { }
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }))}");
        // A new call as CallStore inserts it (its key, then its row), each on its own; removed after.
        var random = new Random(5);
        var insert = await Times(300, async () =>
        {
            var id = $"CAhistnew{Guid.NewGuid():N}"[..34];
            var at = DateTime.UtcNow;
            var started = Stopwatch.GetTimestamp();
            await using var command = db.CreateCommand(
                "WITH added AS (INSERT INTO callmesh.call_keys (call_id, tenant_id, started_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1) " +
                "INSERT INTO callmesh.calls (call_id, tenant_id, location_id, account_sid, tracking_number, number_kind, caller, started_at, status, route, " +
                "routing, source, medium, first_time, first_time_location, within_hours, local_day, match) " +
                "SELECT $1, $2, 'h-0001', 'ACbench', '+15125550100', 'static', $4, $3, 'ringing', 'open', '{}'::jsonb, 'google', 'cpc', true, true, true, $5, 'static' " +
                "WHERE EXISTS (SELECT 1 FROM added)");
            command.Parameters.Add(new() { Value = id });
            command.Parameters.Add(new() { Value = Tenant });
            command.Parameters.Add(new() { Value = at });
            command.Parameters.Add(new() { Value = $"+1415{random.Next(200, 1000)}{random.Next(10_000):D4}" });
            command.Parameters.Add(new() { Value = DateOnly.FromDateTime(at) });
            await command.ExecuteNonQueryAsync();
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        });
        await db.CreateCommand($"DELETE FROM callmesh.calls WHERE tenant_id = '{Tenant}' AND call_id LIKE 'CAhistnew%'").ExecuteNonQueryAsync();
        await db.CreateCommand($"DELETE FROM callmesh.call_keys WHERE tenant_id = '{Tenant}' AND call_id LIKE 'CAhistnew%'").ExecuteNonQueryAsync();
        Console.WriteLine($"  insert of a new call (300):      {F(insert)}");
        var lookup = await Times(300, async () =>
        {
            var started = Stopwatch.GetTimestamp();
            await using var command = db.CreateCommand("SELECT tenant_id, call_id, location_id, started_at FROM callmesh.calls WHERE caller = $1");
            command.Parameters.Add(new() { Value = $"+1415{random.Next(200, 1000)}{random.Next(10_000):D4}" });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) { }
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        });
        Console.WriteLine($"  caller lookup (300):             {F(lookup)}");
        // An export of up to a million calls streams: the silos' memory before and after says whether it was held.
        var memoryBefore = SiloMemory();
        var exportClock = Stopwatch.StartNew();
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/tenants/{Tenant}/exports/calls.ndjson?limit=1000000"))
        {
            request.Headers.Authorization = new("Bearer", admin);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            long lines = 0, bytes = 0;
            while (await reader.ReadLineAsync() is { } line) { lines++; bytes += line.Length + 1; }
            Console.WriteLine($"  export of {lines:N0} calls as NDJSON ({bytes / 1024 / 1024:N0} MB) in {exportClock.Elapsed.TotalSeconds:F1} s, " +
                              $"next page {(response.Headers.Contains("Link") ? "linked" : "none")}; silo memory {memoryBefore / 1024 / 1024:N0} → {SiloMemory() / 1024 / 1024:N0} MB");
        }
        Console.WriteLine($"  silo memory after: {SiloMemory() / 1024 / 1024:N0} MB");
    }

    private static async Task<T> Scalar<T>(NpgsqlDataSource db, string sql) => (T)(await db.CreateCommand(sql).ExecuteScalarAsync())!;

    private long SiloMemory() => ProcessCpu.SiloMemory(state);
}
