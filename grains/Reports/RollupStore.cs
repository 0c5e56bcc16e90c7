using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Reports;

/// <summary>
/// callmesh.rollup_days and callmesh.rollup_touches (docs/history.md): written by <see cref="Calls.CallStore"/> in the
/// transaction that writes the call, replaced per location by a rebuild, read by every report. A report over any range
/// reads buckets, never calls; nothing is held in memory between requests.
/// </summary>
public sealed class RollupStore([FromKeyedServices(RollupStore.DataSourceKey)] NpgsqlDataSource database)
{
    /// <summary>The key of the reports' own connection pool (statements planned per call, never prepared).</summary>
    public const string DataSourceKey = "reports";

    /// <summary>location_id of calls and spend that belong to no location.</summary>
    public const string Unassigned = "";

    /// <summary>The measure columns of every rollup table, in the order <see cref="Scaled"/> numbers them.</summary>
    public static readonly string[] MeasureColumns =
        ["calls", "answered", "missed", "first_time", "qualified", "revenue", "duration_seconds",
         "sales", "appointments", "quotes", "inquiries", "spam", "other_outcomes", "voicemails", "ring_seconds", "ring_timed", "texts"];

    // The outcome each of the six columns after duration_seconds counts (TenantRules' outcomes).
    private static readonly string[] OutcomeOfColumn = ["sale", "appointment", "quote", "inquiry", "spam", "other"];

    // Columns are bigints (migration 0014): counts and durations in millionths (a model's share of a call has six
    // decimals), money in cents. Whole numbers keep sums exact and sum several times faster than numerics.
    private const decimal Millionths = 1_000_000m, Cents = 100m;
    private const int RevenueColumn = 5;

    private static decimal Scale(int column) => column == RevenueColumn ? Cents : Millionths;

    private static readonly string Sums = string.Join(", ", MeasureColumns.Select(c => $"sum({c})"));
    private static readonly string Added = string.Join(", ", MeasureColumns.Select(c => $"{c} = r.{c} + EXCLUDED.{c}"));
    private static readonly string MeasureList = string.Join(", ", MeasureColumns);

    /// <summary>
    /// Shared with a rebuild of the same location, which takes it exclusively: a rebuild reads the calls only once every
    /// write in flight has committed, and no write lands between its read and its replace.
    /// </summary>
    public static NpgsqlBatchCommand LocationLock(string tenantId, string location, bool exclusive) =>
        Common.Sql.Command($"SELECT {(exclusive ? "pg_advisory_xact_lock" : "pg_advisory_xact_lock_shared")}(hashtext($1), hashtext($2))",
            tenantId, location);

    /// <summary>The statements that add <paramref name="change"/> to a location's buckets, in key order (two writers of
    /// the same buckets lock them in the same order, so they queue rather than deadlock).</summary>
    public static IEnumerable<NpgsqlBatchCommand> Apply(string tenantId, string location, RollupBuckets change, bool months = true)
    {
        if (change.Days.Count > 0)
        {
            var days = change.Days.OrderBy(d => d.Key).ToList();
            var command = Common.Sql.Command(
                $"""
                INSERT INTO callmesh.rollup_days AS r (tenant_id, location_id, day, {MeasureList})
                SELECT $1, $2, d.* FROM unnest($3::date[], {Arrays(4)}) AS d
                ON CONFLICT (tenant_id, location_id, day) DO UPDATE SET {Added}
                """, tenantId, location, days.Select(d => d.Key).ToArray());
            AddMeasureArrays(command, days.Select(d => d.Value).ToList());
            yield return command;
        }
        if (change.Days.Count > 0 && months)
        {
            var days = change.Days.OrderBy(d => d.Key).ToList();
            // The same change to the days' months (in month order, after the days: every writer locks in this order).
            var byMonth = days.GroupBy(d => MonthOf(d.Key)).OrderBy(g => g.Key).ToList();
            var monthly = Common.Sql.Command(
                $"""
                INSERT INTO callmesh.rollup_months AS r (tenant_id, location_id, month, {MeasureList})
                SELECT $1, $2, m.* FROM unnest($3::date[], {Arrays(4)}) AS m
                ON CONFLICT (tenant_id, location_id, month) DO UPDATE SET {Added}
                """, tenantId, location, byMonth.Select(m => m.Key).ToArray());
            AddMeasureArrays(monthly, byMonth.Select(m => Measures.Sum(m.Select(d => d.Value))).ToList());
            yield return monthly;
        }
        if (change.Touches.Count > 0)
        {
            var touches = change.Touches.OrderBy(t => t.Key.Day).ThenBy(t => t.Key.Model, StringComparer.Ordinal)
                .ThenBy(t => t.Key.Source, StringComparer.Ordinal).ThenBy(t => t.Key.Medium, StringComparer.Ordinal)
                .ThenBy(t => t.Key.Campaign, StringComparer.Ordinal).ThenBy(t => t.Key.Keyword, StringComparer.Ordinal).ToList();
            var command = Common.Sql.Command(
                $"""
                INSERT INTO callmesh.rollup_touches AS r (tenant_id, location_id, day, model, source, medium, campaign, keyword, {MeasureList})
                SELECT $1, $2, t.* FROM unnest($3::date[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], {Arrays(9)}) AS t
                ON CONFLICT (tenant_id, location_id, day, model, source, medium, campaign, keyword) DO UPDATE SET {Added}
                """, tenantId, location, touches.Select(t => t.Key.Day).ToArray(), touches.Select(t => t.Key.Model).ToArray(),
                touches.Select(t => t.Key.Source).ToArray(), touches.Select(t => t.Key.Medium).ToArray(),
                touches.Select(t => t.Key.Campaign).ToArray(), touches.Select(t => t.Key.Keyword).ToArray());
            AddMeasureArrays(command, touches.Select(t => t.Value).ToList());
            yield return command;
        }
    }

    /// <summary>
    /// Sets the spend of a location's days (all from <paramref name="from"/>, or only <paramref name="days"/>) to the sum of
    /// callmesh.spend: spend imports and rebuilds both end with it, so a day's spend is always its rows' sum.
    /// </summary>
    public static NpgsqlBatchCommand RefreshSpend(string tenantId, string location, DateOnly from, DateOnly[]? days = null)
    {
        var command = Common.Sql.Command(
            """
            INSERT INTO callmesh.rollup_days AS r (tenant_id, location_id, day, spend)
            SELECT tenant_id, location_id, day, round(sum(cost) * 100)::bigint FROM callmesh.spend
             WHERE tenant_id = $1 AND location_id = $2 AND day >= $3 AND ($4::date[] IS NULL OR day = ANY($4))
             GROUP BY tenant_id, location_id, day ORDER BY day
            ON CONFLICT (tenant_id, location_id, day) DO UPDATE SET spend = EXCLUDED.spend
            """, tenantId, location, from);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)days ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Date });
        return command;
    }

    /// <summary>
    /// Sets a location's month rows (from <paramref name="from"/>'s month on, or only <paramref name="months"/>) to the sums
    /// of their day rows: after a rebuild or a spend import changed days in bulk.
    /// </summary>
    public static NpgsqlBatchCommand RefreshMonths(string tenantId, string location, DateOnly from, DateOnly[]? months = null)
    {
        var command = Common.Sql.Command(
            $"""
            INSERT INTO callmesh.rollup_months AS r (tenant_id, location_id, month, {MeasureList}, spend)
            SELECT tenant_id, location_id, date_trunc('month', day)::date, {Sums}, sum(spend) FROM callmesh.rollup_days
             WHERE tenant_id = $1 AND location_id = $2 AND day >= $3 AND ($4::date[] IS NULL OR date_trunc('month', day)::date = ANY($4))
             GROUP BY 1, 2, 3 ORDER BY 3
            ON CONFLICT (tenant_id, location_id, month) DO UPDATE SET {string.Join(", ", MeasureColumns.Append("spend").Select(c => $"{c} = EXCLUDED.{c}"))}
            """, tenantId, location, MonthOf(from));
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)months ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Date });
        return command;
    }

    public static DateOnly MonthOf(DateOnly day) => new(day.Year, day.Month, 1);

    private static string Arrays(int first) => string.Join(", ", MeasureColumns.Select((_, i) => $"${first + i}::bigint[]"));

    // Every call's write adds a few of these (17 arrays each): made in one pass, and typed by their CLR type (long[] is
    // bigint[]), as naming the type made Npgsql build the array type's name for each parameter again.
    private static void AddMeasureArrays(NpgsqlBatchCommand command, List<Measures> rows)
    {
        var columns = new long[MeasureColumns.Length][];
        for (var c = 0; c < columns.Length; c++) columns[c] = new long[rows.Count];
        for (var r = 0; r < rows.Count; r++)
            for (var c = 0; c < columns.Length; c++)
                columns[c][r] = Scaled(rows[r], c);
        foreach (var column in columns) command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = column });
    }

    /// <summary>Measure <paramref name="column"/> of <paramref name="m"/> as the table stores it (millionths, or cents for revenue).</summary>
    public static long Scaled(Measures m, int column) => (long)(Column(m, column) * Scale(column));

    private static decimal Column(Measures m, int column) => column switch
    {
        0 => m.Calls,
        1 => m.Answered,
        2 => m.Missed,
        3 => m.FirstTime,
        4 => m.Qualified,
        5 => m.Revenue,
        6 => m.DurationSeconds,
        13 => m.Voicemails,
        14 => m.RingSeconds,
        15 => m.RingTimed,
        16 => m.Texts,
        _ => m.Outcomes.GetValueOrDefault(OutcomeOfColumn[column - 7]),
    };

    /// <summary>The measures in the reader's columns from <paramref name="first"/> on, in <see cref="MeasureColumns"/> order.</summary>
    private static Measures Read(NpgsqlDataReader r, int first)
    {
        // A sum comes back as numeric, a stored bucket as bigint.
        decimal D(int i) => r.IsDBNull(first + i) ? 0 : Convert.ToDecimal(r.GetValue(first + i)) / Scale(i);
        var outcomes = new Dictionary<string, decimal>();
        for (var i = 0; i < OutcomeOfColumn.Length; i++)
            if (D(7 + i) is var count && count != 0) outcomes[OutcomeOfColumn[i]] = count;
        return new Measures
        {
            Calls = D(0), Answered = D(1), Missed = D(2), FirstTime = D(3), Qualified = D(4), Revenue = D(5), DurationSeconds = D(6),
            Outcomes = outcomes, Voicemails = D(13), RingSeconds = D(14), RingTimed = D(15), Texts = D(16),
        };
    }

    private static decimal SpendAt(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? 0 : Convert.ToDecimal(r.GetValue(i)) / Cents;

    /// <summary>
    /// Totals per location for local days in [from, to], spend included: one aggregate over the month rows of the whole
    /// months in the range and the day rows of its ends. Keys are location
    /// ids (<see cref="Unassigned"/> for none); <paramref name="locations"/> null means every location of the tenant.
    /// </summary>
    public async Task<Dictionary<string, Measures>> TotalsByLocationAsync(string tenantId, IReadOnlyCollection<string>? locations,
        DateOnly from, DateOnly to)
    {
        await using var batch = database.CreateBatch();
        var scope = locations?.ToArray();
        // Whole months inside the range come from month rows, the days at its ends from day rows.
        var fullFrom = from.Day == 1 ? from : MonthOf(from).AddMonths(1);
        var fullTo = to.AddDays(1).Day == 1 ? to.AddDays(1) : MonthOf(to);   // exclusive
        if (fullTo < fullFrom) fullTo = fullFrom;
        var command = Scoped(
            $"""
            SELECT location_id, {Sums}, sum(spend) FROM (
                SELECT location_id, {MeasureList}, spend FROM callmesh.rollup_months
                 WHERE tenant_id = $1 AND month >= $5 AND month < $6 AND ($4::text[] IS NULL OR location_id = ANY($4))
                UNION ALL
                SELECT location_id, {MeasureList}, spend FROM callmesh.rollup_days
                 WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 AND NOT (day >= $5 AND day < $6) AND ($4::text[] IS NULL OR location_id = ANY($4))
            ) AS rows GROUP BY location_id
            """, tenantId, from, to, scope);
        command.Parameters.Add(new NpgsqlParameter { Value = fullFrom });
        command.Parameters.Add(new NpgsqlParameter { Value = fullTo });
        batch.BatchCommands.Add(command);
        var totals = new Dictionary<string, Measures>(StringComparer.Ordinal);
        await using var reader = await batch.ExecuteReaderAsync();
        while (await reader.ReadAsync()) totals[reader.GetString(0)] = Read(reader, 1) with { Spend = SpendAt(reader, 1 + MeasureColumns.Length) };
        return totals;
    }

    /// <summary>
    /// Local days from..to for the overview's charts: each day's measures (spend included) summed over the locations in
    /// scope (null: the whole tenant), and its calls by the source credited last (whole calls). Days without calls are
    /// there, as zeros.
    /// </summary>
    public async Task<List<DayTotals>> DailyAsync(string tenantId, IReadOnlyCollection<string>? locations, DateOnly from, DateOnly to)
    {
        var scope = locations?.ToArray();
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Scoped(
            $"""
            SELECT day, {Sums}, sum(spend) FROM callmesh.rollup_days
             WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 AND ($4::text[] IS NULL OR location_id = ANY($4)) GROUP BY day
            """, tenantId, from, to, scope));
        batch.BatchCommands.Add(Scoped(
            $"""
            SELECT day, source, sum(calls) FROM callmesh.rollup_touches
             WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 AND ($4::text[] IS NULL OR location_id = ANY($4))
               AND model IN ('{RollupBuckets.Whole}', '{AttributionModels.LastTouch}')
             GROUP BY day, source
            """, tenantId, from, to, scope));
        var days = new SortedDictionary<DateOnly, DayTotals>();
        for (var day = from; day <= to; day = day.AddDays(1)) days[day] = new DayTotals(day, Measures.Zero, new(StringComparer.Ordinal));
        await using var reader = await batch.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var day = reader.GetFieldValue<DateOnly>(0);
            days[day] = days[day] with { Measures = Read(reader, 1) with { Spend = SpendAt(reader, 1 + MeasureColumns.Length) } };
        }
        await reader.NextResultAsync();
        while (await reader.ReadAsync())
            days[reader.GetFieldValue<DateOnly>(0)].CallsBySource[reader.GetString(1)] = Convert.ToDecimal(reader.GetValue(2)) / Scale(0);
        return [.. days.Values];
    }

    private static NpgsqlBatchCommand Scoped(string sql, string tenantId, DateOnly from, DateOnly to, string[]? locations)
    {
        var command = Common.Sql.Command(sql, tenantId, from, to);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)locations ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return command;
    }

    public async Task<Measures> TotalsAsync(string tenantId, string location, DateOnly from, DateOnly to) =>
        (await TotalsByLocationAsync(tenantId, [location], from, to)).GetValueOrDefault(location, Measures.Zero);

    /// <summary>
    /// One location's rows by day, source, campaign or keyword under a model. A time-decay half-life other than the
    /// default is not kept in buckets: the shares of that location's multi-touch calls in range are worked out from
    /// their stored paths (<paramref name="multiTouchCalls"/>), the single-touch calls still come from buckets.
    /// </summary>
    public async Task<List<ReportRow>> ReportAsync(string tenantId, string location, ReportQuery query,
        Func<Task<List<CallContribution>>> multiTouchCalls)
    {
        var rows = new Dictionary<(string Key, string? Source, string? Campaign), Measures>();
        void Add(string key, string? source, string? campaign, Measures measures) =>
            rows[(key, source, campaign)] = rows.TryGetValue((key, source, campaign), out var sum) ? sum + measures : measures;

        await using var batch = database.CreateBatch();
        if (query.GroupBy == "day")
        {
            // A call belongs to one day whatever the model: days need no credit sharing.
            batch.BatchCommands.Add(Common.Sql.Command(
                $"SELECT day, {MeasureList}, spend FROM callmesh.rollup_days WHERE tenant_id = $1 AND location_id = $2 AND day BETWEEN $3 AND $4",
                tenantId, location, query.From, query.To));
            await using var reader = await batch.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                Add(reader.GetFieldValue<DateOnly>(0).ToString("yyyy-MM-dd"), null, null,
                    Read(reader, 1) with { Spend = SpendAt(reader, 1 + MeasureColumns.Length) });
            return ToRows(rows);
        }

        var (keyColumns, keyOf) = query.GroupBy switch
        {
            "source" => ("source, ''", (Func<string, string, (string, string?, string?)>)((s, _) => (s, s, null))),
            "campaign" => ("source, campaign", (s, c) => ($"{s}/{c}", s, c)),
            _ => ("keyword, ''", (k, _) => (k, null, null)),
        };
        var bucketed = query.Model == AttributionModels.TimeDecay && Math.Abs(query.HalfLifeDays - AttributionModels.DefaultHalfLifeDays) > 1e-9
            ? [RollupBuckets.Whole] : new[] { RollupBuckets.Whole, query.Model };
        var group = Common.Sql.Command(
            $"""
            SELECT {keyColumns}, {Sums} FROM callmesh.rollup_touches
             WHERE tenant_id = $1 AND location_id = $2 AND day BETWEEN $3 AND $4 AND model = ANY($5)
             GROUP BY 1, 2
            """, tenantId, location, query.From, query.To, bucketed);
        batch.BatchCommands.Add(group);
        if (query.GroupBy is "source" or "campaign")
            // Spend is known per source and campaign, so it joins those rows (keyword rows have none).
            batch.BatchCommands.Add(Common.Sql.Command(
                $"SELECT {keyColumns}, sum(cost) FROM callmesh.spend WHERE tenant_id = $1 AND location_id = $2 AND day BETWEEN $3 AND $4 GROUP BY 1, 2",
                tenantId, location, query.From, query.To));
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var (key, source, campaign) = keyOf(reader.GetString(0), reader.GetString(1));
                Add(key, source, campaign, Read(reader, 2));
            }
            if (await reader.NextResultAsync())
                while (await reader.ReadAsync())
                {
                    var (key, source, campaign) = keyOf(reader.GetString(0), reader.GetString(1));
                    Add(key, source, campaign, new Measures { Spend = reader.GetDecimal(2) });
                }
        }
        if (bucketed.Length == 1)
            foreach (var call in await multiTouchCalls())
                foreach (var (touch, share) in AttributionModels.Credit(call, query.Model, query.HalfLifeDays))
                {
                    var (key, source, campaign) = keyOf(query.GroupBy == "keyword" ? touch.Keyword ?? "" : touch.Source, touch.Campaign ?? "");
                    Add(key, source, campaign, share);
                }
        return ToRows(rows);
    }

    private static List<ReportRow> ToRows(Dictionary<(string Key, string? Source, string? Campaign), Measures> rows) =>
        [.. rows.Where(r => !r.Value.IsZero).Select(r => new ReportRow(r.Key.Key, r.Key.Source, r.Key.Campaign, r.Value))];

    /// <summary>A location's buckets as last-touch reads them, by the touch credited (for audits and tests: they must equal
    /// a GROUP BY over the calls table). Campaign and keyword null when there is none.</summary>
    public async Task<List<Bucket>> LastTouchBucketsAsync(string tenantId, string location)
    {
        await using var command = database.CreateCommand(
            $"""
            SELECT day, source, medium, campaign, keyword, {Sums} FROM callmesh.rollup_touches
             WHERE tenant_id = $1 AND location_id = $2 AND model IN ('{RollupBuckets.Whole}', '{AttributionModels.LastTouch}')
             GROUP BY 1, 2, 3, 4, 5
            """);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = location });
        var buckets = new List<Bucket>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var measures = Read(reader, 5);
            if (measures.IsZero) continue;
            string? Optional(int i) => reader.GetString(i) is { Length: > 0 } s ? s : null;
            buckets.Add(new Bucket(reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetString(2), Optional(3), Optional(4), measures));
        }
        return buckets;
    }

    /// <summary>
    /// Replaces a location's buckets from <paramref name="calls"/> (its calls from <paramref name="keptFrom"/> on) inside
    /// the caller's transaction, which holds the location's lock exclusively. Days before <paramref name="keptFrom"/> keep
    /// their buckets: their calls are gone (retention), their counts are not. Answers buckets written and buckets changed.
    /// </summary>
    public static async Task<(int Buckets, int Changed)> ReplaceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string tenantId, string location, DateOnly keptFrom, IEnumerable<CallContribution> calls)
    {
        var fresh = new RollupBuckets();
        foreach (var call in calls.Where(c => c.Day >= keptFrom)) fresh.Add(call, +1);

        var old = new RollupBuckets();
        await using (var read = new NpgsqlBatch(connection, transaction))
        {
            read.BatchCommands.Add(Common.Sql.Command(
                $"SELECT day, {MeasureList} FROM callmesh.rollup_days WHERE tenant_id = $1 AND location_id = $2 AND day >= $3",
                tenantId, location, keptFrom));
            read.BatchCommands.Add(Common.Sql.Command(
                $"""
                SELECT day, model, source, medium, campaign, keyword, {MeasureList} FROM callmesh.rollup_touches
                 WHERE tenant_id = $1 AND location_id = $2 AND day >= $3
                """, tenantId, location, keptFrom));
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                if (Read(reader, 1) is { IsZero: false } m) old.Days[reader.GetFieldValue<DateOnly>(0)] = m;
            await reader.NextResultAsync();
            while (await reader.ReadAsync())
                if (Read(reader, 6) is { IsZero: false } m)
                    old.Touches[new TouchKey(reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                        reader.GetString(4), reader.GetString(5))] = m;
        }
        var changed = fresh.Days.Count(d => !old.Days.TryGetValue(d.Key, out var m) || !m.SameAs(d.Value)) + old.Days.Keys.Count(k => !fresh.Days.ContainsKey(k))
                      + fresh.Touches.Count(t => !old.Touches.TryGetValue(t.Key, out var m) || !m.SameAs(t.Value)) + old.Touches.Keys.Count(k => !fresh.Touches.ContainsKey(k));
        if (changed == 0) return (fresh.Days.Count + fresh.Touches.Count, 0);

        await using var write = new NpgsqlBatch(connection, transaction);
        write.BatchCommands.Add(Common.Sql.Command("DELETE FROM callmesh.rollup_days WHERE tenant_id = $1 AND location_id = $2 AND day >= $3",
            tenantId, location, keptFrom));
        write.BatchCommands.Add(Common.Sql.Command("DELETE FROM callmesh.rollup_touches WHERE tenant_id = $1 AND location_id = $2 AND day >= $3",
            tenantId, location, keptFrom));
        foreach (var command in Apply(tenantId, location, fresh, months: false)) write.BatchCommands.Add(command);   // months: from the days below
        write.BatchCommands.Add(RefreshSpend(tenantId, location, keptFrom));   // the deleted day rows held the spend too
        write.BatchCommands.Add(Common.Sql.Command("DELETE FROM callmesh.rollup_months WHERE tenant_id = $1 AND location_id = $2 AND month >= $3",
            tenantId, location, MonthOf(keptFrom)));
        write.BatchCommands.Add(RefreshMonths(tenantId, location, keptFrom));
        await write.ExecuteNonQueryAsync();
        return (fresh.Days.Count + fresh.Touches.Count, changed);
    }
}

/// <summary>One local day of a report's scope: its measures and its calls by the source credited last.</summary>
public sealed record DayTotals(DateOnly Day, Measures Measures, Dictionary<string, decimal> CallsBySource);
