using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Reports;

/// <summary>How a set of calls was answered: counts, rates, the average wait, and the answers per ring step.</summary>
public sealed record AnsweringLine(long Calls, long Answered, long Missed, long Voicemails, long AfterHours, decimal? AnswerRate,
    decimal? AfterHoursShare, decimal? AvgRingSeconds, Dictionary<string, long> AnsweredByStep)
{
    internal static AnsweringLine From(IReadOnlyCollection<AnsweringCounts> rows)
    {
        long Sum(Func<AnsweringCounts, long> f) => rows.Sum(f);
        var (calls, answered, ringTimed) = (Sum(r => r.Calls), Sum(r => r.Answered), Sum(r => r.RingTimed));
        var steps = new Dictionary<string, long>();
        for (var step = 0; step < AnsweringCounts.Steps; step++)
            if (rows.Sum(r => r.ByStep[step]) is var n and > 0) steps[(step + 1).ToString()] = n;
        return new AnsweringLine(calls, answered, Sum(r => r.Missed), Sum(r => r.Voicemails), Sum(r => r.AfterHours),
            calls == 0 ? null : Math.Round((decimal)answered / calls, 4), calls == 0 ? null : Math.Round((decimal)Sum(r => r.AfterHours) / calls, 4),
            ringTimed == 0 ? null : Math.Round((decimal)Sum(r => r.RingSeconds) / ringTimed, 1), steps);
    }
}

public sealed record AnsweringLocation(string Location, AnsweringLine Measures);

/// <summary>One hour of one weekday in each location's own time (mon..sun, 0..23): when the phones need people.</summary>
public sealed record AnsweringHour(string Weekday, int Hour, AnsweringLine Measures);

public sealed record AnsweringReport(DateOnly From, DateOnly To, AnsweringLine Totals, List<AnsweringLocation> Locations, List<AnsweringHour> Hours);

internal sealed record AnsweringCounts(string Location, int Weekday, int Hour, long Calls, long Answered, long Missed, long Voicemails,
    long AfterHours, long RingSeconds, long RingTimed, long[] ByStep)
{
    public const int Steps = 5;
}

/// <summary>
/// The staffing view of the calls (GET …/reports/answering): answered, missed, voicemails, after-hours share, the wait before
/// an answer and which ring step answered, per location and per weekday and hour of its local time. Read from the calls
/// table itself, one aggregate over the range's rows (by location and local day, the partitions of the range's months), because
/// the hour of day and the step are no rollup dimension; texts, test and blocked calls are left out.
/// </summary>
public sealed class AnsweringQuery([FromKeyedServices(RollupStore.DataSourceKey)] NpgsqlDataSource database)
{
    private static readonly string[] Weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// <param name="locations">Location id → its IANA time zone (its hours are its own).</param>
    public async Task<AnsweringReport> ComputeAsync(string tenantId, IReadOnlyDictionary<string, string> locations, DateOnly from, DateOnly to)
    {
        await using var command = database.CreateCommand(
            $"""
            SELECT c.location_id, extract(isodow FROM c.started_at AT TIME ZONE l.tz)::int, extract(hour FROM c.started_at AT TIME ZONE l.tz)::int,
                   count(*), count(*) FILTER (WHERE c.answered), count(*) FILTER (WHERE NOT c.answered AND c.ended_at IS NOT NULL),
                   count(*) FILTER (WHERE c.voicemail AND NOT c.answered), count(*) FILTER (WHERE NOT c.within_hours),
                   coalesce(sum(c.ring_seconds) FILTER (WHERE c.answered), 0), count(*) FILTER (WHERE c.answered AND c.ring_seconds IS NOT NULL),
                   {string.Join(", ", Enumerable.Range(1, AnsweringCounts.Steps).Select(s => $"count(*) FILTER (WHERE c.answered_by_step = {s})"))}
              FROM callmesh.calls c JOIN unnest($2::text[], $3::text[]) AS l(location_id, tz) ON l.location_id = c.location_id
             WHERE c.tenant_id = $1 AND c.local_day BETWEEN $4 AND $5
               AND c.started_at >= ($4::date - 1)::timestamptz AND c.started_at < ($5::date + 2)::timestamptz
               AND c.kind = 'call' AND NOT c.is_test AND c.route <> 'blocked'
             GROUP BY 1, 2, 3
            """);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = locations.Keys.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = locations.Values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = from });
        command.Parameters.Add(new() { Value = to });
        var rows = new List<AnsweringCounts>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                rows.Add(new AnsweringCounts(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4),
                    reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9),
                    [.. Enumerable.Range(10, AnsweringCounts.Steps).Select(reader.GetInt64)]));
        return new AnsweringReport(from, to, AnsweringLine.From(rows),
            [.. rows.GroupBy(r => r.Location).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => new AnsweringLocation(g.Key, AnsweringLine.From([.. g])))],
            [.. rows.GroupBy(r => (r.Weekday, r.Hour)).OrderBy(g => g.Key)
                .Select(g => new AnsweringHour(Weekdays[g.Key.Weekday - 1], g.Key.Hour, AnsweringLine.From([.. g])))]);
    }
}
