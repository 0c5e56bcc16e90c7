using Npgsql;

namespace CallMesh.Pools;

public sealed record HourlyLoad(DateTime Hour, int PeakConcurrentLeases, double Utilization);

public sealed record PoolHealth(
    int Size, int ActiveLeases, DateTime WindowStart, List<HourlyLoad> Hours, int PeakConcurrentLeases,
    long Allocations, long OverflowCount, double OverflowRate, int RecommendedSize, string RecommendationRule,
    bool SustainedHighUtilization);

/// <summary>
/// Pool health from the lease history: peak concurrent holds per hour, overflow rate, and a size
/// recommendation. Rule: recommended = ceil(peak × 1.25) + 1 (a quarter of headroom and a spare);
/// "sustained high utilization" when each of the last 3 active hours peaked above 75 % of the size.
/// </summary>
public sealed class PoolHealthQuery(NpgsqlDataSource database)
{
    public const double HighUtilization = 0.75;
    public const string Rule = "recommendedSize = ceil(peak concurrent leases in the window × 1.25) + 1; flag when each of the last 3 active hours peaked above 75% of the pool size";

    public async Task<PoolHealth> ComputeAsync(string tenantId, string poolId, int size, int activeLeases, DateTime windowStart)
    {
        await using var batch = database.CreateBatch();
        // Running sum of +1 at each lease start and -1 at each release; releases sort first at equal times.
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            WITH events AS (
                SELECT leased_at AS at, 1 AS delta FROM callmesh.number_leases
                 WHERE tenant_id = $1 AND pool_id = $2 AND kind = 'lease' AND coalesce(released_at, 'infinity') > $3
                UNION ALL
                SELECT released_at, -1 FROM callmesh.number_leases
                 WHERE tenant_id = $1 AND pool_id = $2 AND kind = 'lease' AND released_at > $3),
            running AS (
                SELECT at, sum(delta) OVER (ORDER BY at, delta ROWS UNBOUNDED PRECEDING) AS concurrent FROM events)
            SELECT date_trunc('hour', at) AS hour, max(concurrent)::int FROM running WHERE at >= $3 GROUP BY 1 ORDER BY 1
            """) { Parameters = { new() { Value = tenantId }, new() { Value = poolId }, new() { Value = windowStart } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            SELECT count(*), count(*) FILTER (WHERE kind = 'overflow') FROM callmesh.number_leases
             WHERE tenant_id = $1 AND pool_id = $2 AND leased_at >= $3
            """) { Parameters = { new() { Value = tenantId }, new() { Value = poolId }, new() { Value = windowStart } } });
        await using var reader = await batch.ExecuteReaderAsync();
        var hours = new List<HourlyLoad>();
        while (await reader.ReadAsync())
        {
            var peak = reader.GetInt32(1);
            hours.Add(new HourlyLoad(reader.GetDateTime(0), peak, size == 0 ? 0 : Math.Round((double)peak / size, 3)));
        }
        await reader.NextResultAsync();
        await reader.ReadAsync();
        var (allocations, overflows) = (reader.GetInt64(0), reader.GetInt64(1));

        var windowPeak = Math.Max(activeLeases, hours.Count == 0 ? 0 : hours.Max(h => h.PeakConcurrentLeases));
        var lastHours = hours.TakeLast(3).ToList();
        return new PoolHealth(size, activeLeases, windowStart, hours, windowPeak, allocations, overflows,
            allocations == 0 ? 0 : Math.Round((double)overflows / allocations, 4),
            (int)Math.Ceiling(windowPeak * 1.25) + 1, Rule,
            lastHours.Count == 3 && lastHours.All(h => h.Utilization > HighUtilization));
    }
}
