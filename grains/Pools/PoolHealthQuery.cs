using Npgsql;

namespace CallMesh.Pools;

/// <summary>
/// One hour's peaks: numbers held at once, and numbers needed at once (held, resting, or wanted by an overflow visitor);
/// utilization is demand over the pool's size.
/// </summary>
public sealed record HourlyLoad(DateTime Hour, int PeakConcurrentLeases, int PeakDemand, double Utilization);

/// <summary>How likely a late call is to be credited wrongly or not at all, and why.</summary>
public sealed record PrecisionRisk(
    long EarlyReuses, double EarlyReuseRate, double AmbiguousCallsPerDay, double OverflowRate, Dictionary<string, long> CallsByMatch);

public sealed record PoolHealth(
    int Size, int ActiveLeases, int Resting, DateTime WindowStart, List<HourlyLoad> Hours, int PeakConcurrentLeases, int PeakDemand,
    long Allocations, long OverflowCount, double OverflowRate, LateCallRules LateCalls, CallDelays CallDelays, PrecisionRisk PrecisionRisk,
    int RecommendedSize, int RecommendedRestSeconds, string RecommendationRule, bool SustainedHighUtilization);

/// <summary>
/// Pool health from the lease history and the pool's own call counts: peak concurrent holds and peak demand per hour,
/// overflow and early-reuse rates, how its calls were matched, and a size recommendation (<see cref="Rule"/>).
/// </summary>
public sealed class PoolHealthQuery(NpgsqlDataSource database, TimeProvider clock)
{
    public const double HighUtilization = 0.75;
    public const string Rule =
        "recommendedRestSeconds = the 99th percentile of this pool's call delays after the visitor's last activity (30 days, at least " +
        "100 calls; at least the idle grace), else the lease length; recommendedSize = ceil(peak demand in the window × 1.25) + 1, where " +
        "demand counts every number held or resting (a hold from its start to its release + rest) and every overflow answer as one " +
        "number for a lease + rest; flag when each of the last 3 active hours' demand peaked above 75% of the pool size";

    public async Task<PoolHealth> ComputeAsync(string tenantId, string poolId, PoolLoad load, int leaseSeconds, DateTime windowStart)
    {
        var rest = TimeSpan.FromSeconds(load.Rules.RestSeconds);
        var now = clock.GetUtcNow().UtcDateTime;
        await using var batch = database.CreateBatch();
        // Running sums of +1/-1 events: held (start, release) and demand (start, release + rest; an overflow answer from its
        // time for a lease + rest). At equal times ends sort before starts.
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            WITH spans AS (
                SELECT leased_at, kind = 'lease' AS held, CASE WHEN kind = 'lease' THEN released_at END AS released_at,
                       CASE WHEN kind = 'lease' THEN coalesce(released_at, $4) ELSE leased_at + $5 END + $6 AS demand_ends
                  FROM callmesh.number_leases
                 WHERE tenant_id = $1 AND pool_id = $2 AND leased_at <= $4
                   AND CASE WHEN kind = 'lease' THEN coalesce(released_at, $4) ELSE leased_at + $5 END + $6 > $3),
            events AS (
                SELECT leased_at AS at, held::int AS held, 1 AS demand FROM spans
                UNION ALL SELECT released_at, -1, 0 FROM spans WHERE released_at IS NOT NULL
                UNION ALL SELECT demand_ends, 0, -1 FROM spans),
            running AS (
                SELECT at, sum(held) OVER w AS held, sum(demand) OVER w AS demand FROM events
                WINDOW w AS (ORDER BY at, held + demand ROWS UNBOUNDED PRECEDING))
            SELECT date_trunc('hour', at) AS hour, max(held)::int, max(demand)::int FROM running
             WHERE at >= $3 AND at <= $4 GROUP BY 1 ORDER BY 1
            """)
        {
            Parameters =
            {
                new() { Value = tenantId }, new() { Value = poolId }, new() { Value = windowStart }, new() { Value = now },
                new() { Value = TimeSpan.FromSeconds(leaseSeconds) }, new() { Value = rest },
            },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            SELECT count(*), count(*) FILTER (WHERE kind = 'overflow'), count(*) FILTER (WHERE early_reuse) FROM callmesh.number_leases
             WHERE tenant_id = $1 AND pool_id = $2 AND leased_at >= $3
            """)
        { Parameters = { new() { Value = tenantId }, new() { Value = poolId }, new() { Value = windowStart } } });
        await using var reader = await batch.ExecuteReaderAsync();
        var hours = new List<HourlyLoad>();
        while (await reader.ReadAsync())
        {
            var peak = reader.GetInt32(1);
            var demand = reader.GetInt32(2);
            hours.Add(new HourlyLoad(reader.GetDateTime(0), peak, demand, load.Size == 0 ? 0 : Math.Round((double)demand / load.Size, 3)));
        }
        await reader.NextResultAsync();
        await reader.ReadAsync();
        var (allocations, overflows, earlyReuses) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));

        var windowPeak = Math.Max(load.ActiveLeases, hours.Count == 0 ? 0 : hours.Max(h => h.PeakConcurrentLeases));
        var peakDemand = Math.Max(load.ActiveLeases + load.Resting, hours.Count == 0 ? 0 : hours.Max(h => h.PeakDemand));
        var lastHours = hours.TakeLast(3).ToList();
        var overflowRate = Rate(overflows, allocations);
        // The pool counts its calls for the last 30 days; per day over the window asked for, or fewer days when that is shorter.
        var days = Math.Clamp((now - windowStart).TotalDays, 1, CallStatistics.Days);
        var risk = new PrecisionRisk(earlyReuses, Rate(earlyReuses, allocations - overflows),
            Math.Round(load.Matches.GetValueOrDefault(Calls.MatchKinds.Ambiguous) / days, 2), overflowRate, load.Matches);
        return new PoolHealth(load.Size, load.ActiveLeases, load.Resting, windowStart, hours, windowPeak, peakDemand, allocations, overflows,
            overflowRate, load.Rules, load.Delays, risk, (int)Math.Ceiling(peakDemand * 1.25) + 1, load.RecommendedRestSeconds, Rule,
            lastHours.Count == 3 && lastHours.All(h => h.Utilization > HighUtilization));
    }

    private static double Rate(long part, long whole) => whole <= 0 ? 0 : Math.Round((double)part / whole, 4);
}
