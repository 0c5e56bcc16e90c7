using Npgsql;

namespace CallMesh.Silo.History;

/// <summary>Deployment-wide history settings: how often maintenance runs, and the months kept by tenants that set none.</summary>
public sealed record HistoryOptions(TimeSpan MaintenanceInterval, int? DefaultCallMonths, int MonthsAhead = 3, int OutboxDays = 30);

/// <summary>What one maintenance run did.</summary>
public sealed record MaintenanceResult(int PartitionsCreated, List<string> PartitionsDropped, long CallsDeleted, long LeasesDeleted,
    long OutboxEventsDeleted = 0);

/// <summary>
/// Retention of calls and lease history (docs/history.md). Calls are partitioned by month across tenants, so a month's
/// partition is dropped whole only once every tenant with calls in it keeps fewer months than its age; until then a
/// tenant's expired calls are deleted by rows. Rollups stay: the tenant's <c>calls_kept_from</c> moves first, so a later
/// rebuild leaves the days before it as they are. Also creates the months ahead, so new calls never wait on DDL.
/// </summary>
public sealed class Retention(NpgsqlDataSource database, HistoryOptions options, TimeProvider clock, ILogger<Retention> logger)
{
    // One silo at a time runs maintenance; the others find the lock taken and skip the round.
    private const long MaintenanceLockKey = 0x43614D4D61696E74; // "CaMMaint"
    private const int BatchRows = 10_000;

    public async Task<int?> GetAsync(string tenantId)
    {
        await using var command = database.CreateCommand("SELECT call_months FROM callmesh.retention WHERE tenant_id = $1");
        command.Parameters.Add(new() { Value = tenantId });
        return await command.ExecuteScalarAsync() is int months ? months : null;
    }

    /// <summary>Sets (or, with null, removes) the months of calls the tenant keeps.</summary>
    public async Task SetAsync(string tenantId, int? callMonths)
    {
        await using var command = database.CreateCommand(callMonths is null
            ? "DELETE FROM callmesh.retention WHERE tenant_id = $1"
            : """
              INSERT INTO callmesh.retention (tenant_id, call_months) VALUES ($1, $2)
              ON CONFLICT (tenant_id) DO UPDATE SET call_months = EXCLUDED.call_months, updated_at = now()
              """);
        command.Parameters.Add(new() { Value = tenantId });
        if (callMonths is not null) command.Parameters.Add(new() { Value = callMonths.Value });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The instant before which a tenant keeping <paramref name="months"/> months lets calls go.</summary>
    public DateTime Cutoff(int months) => clock.GetUtcNow().UtcDateTime.AddMonths(-months);

    /// <summary>One maintenance round; null when another silo holds the round.</summary>
    public async Task<MaintenanceResult?> RunOnceAsync(CancellationToken cancellation = default)
    {
        await using var lockConnection = await database.OpenConnectionAsync(cancellation);
        if (!await Scalar<bool>(lockConnection, "SELECT pg_try_advisory_lock($1)", MaintenanceLockKey)) return null;
        try
        {
            var now = clock.GetUtcNow().UtcDateTime;
            // Months ahead, and the months of any calls that landed in the default partition (a backfill, a clock far off).
            var created = await Scalar<int>(lockConnection,
                "SELECT callmesh.ensure_call_partitions(LEAST($1, (SELECT min(started_at)::date FROM callmesh.calls_default)), $2)",
                DateOnly.FromDateTime(now), DateOnly.FromDateTime(now.AddMonths(options.MonthsAhead)));
            var cutoffs = await CutoffsAsync(lockConnection);
            var dropped = await DropExpiredPartitionsAsync(lockConnection, cutoffs, cancellation);
            long calls = 0, leases = 0;
            foreach (var (tenantId, cutoff) in cutoffs.Where(c => c.Key != ""))
            {
                // Rollups first: from now on a rebuild leaves the days before the cutoff as they are.
                await KeepRollupsBeforeAsync(lockConnection, tenantId, cutoff);
                calls += await DeleteInBatchesAsync(lockConnection,
                    $"""
                    WITH gone AS (
                        DELETE FROM callmesh.calls WHERE (call_id, started_at) IN (
                            SELECT call_id, started_at FROM callmesh.calls WHERE tenant_id = $1 AND started_at < $2 LIMIT {BatchRows})
                        RETURNING call_id)
                    DELETE FROM callmesh.call_keys WHERE call_id IN (SELECT call_id FROM gone)
                    """, tenantId, cutoff, cancellation);
                leases += await DeleteInBatchesAsync(lockConnection,
                    $"""
                    DELETE FROM callmesh.number_leases WHERE id IN (
                        SELECT id FROM callmesh.number_leases WHERE tenant_id = $1 AND released_at < $2 LIMIT {BatchRows})
                    """, tenantId, cutoff, cancellation);
            }
            // The delivery log and replays cover OutboxDays; an event still waiting for a receiver stays until it is sent or dead.
            // A call's transaction that read a destination just before it was deleted may have queued a delivery for it.
            await Execute(lockConnection,
                "DELETE FROM callmesh.deliveries d WHERE NOT EXISTS (SELECT 1 FROM callmesh.destinations x WHERE x.destination_id = d.destination_id)");
            long events = 0;
            for (var deleted = BatchRows; deleted == BatchRows && !cancellation.IsCancellationRequested; events += deleted)
                deleted = await Execute(lockConnection,
                    $"""
                    DELETE FROM callmesh.outbox_events WHERE seq IN (
                        SELECT seq FROM callmesh.outbox_events e WHERE occurred_at < $1
                           AND NOT EXISTS (SELECT 1 FROM callmesh.deliveries d WHERE d.seq = e.seq AND d.state = 'pending') LIMIT {BatchRows})
                    """, now.AddDays(-options.OutboxDays));
            var result = new MaintenanceResult(created, dropped, calls, leases, events);
            if (created + dropped.Count + calls + leases + events > 0) logger.LogInformation("History maintenance: {Result}", result);
            return result;
        }
        finally
        {
            await Scalar<bool>(lockConnection, "SELECT pg_advisory_unlock($1)", MaintenanceLockKey);
        }
    }

    /// <summary>
    /// From now on a rebuild leaves the tenant's buckets before the cutoff as they are (their calls are going). The calls of
    /// a partial local day near it are partly gone, so buckets are kept up to two days past it (a location's local day may
    /// start a day either side of UTC's).
    /// </summary>
    private static Task<int> KeepRollupsBeforeAsync(NpgsqlConnection connection, string tenantId, DateTime cutoff) =>
        Execute(connection,
            """
            INSERT INTO callmesh.rollup_state (tenant_id, calls_kept_from) VALUES ($1, $2)
            ON CONFLICT (tenant_id) DO UPDATE SET calls_kept_from = GREATEST(rollup_state.calls_kept_from, EXCLUDED.calls_kept_from)
            """, tenantId, DateOnly.FromDateTime(cutoff).AddDays(2));

    /// <summary>Tenant → cutoff for every tenant that keeps limited history; key "" holds the deployment default, if any.</summary>
    private async Task<Dictionary<string, DateTime>> CutoffsAsync(NpgsqlConnection connection)
    {
        var cutoffs = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        if (options.DefaultCallMonths is { } fallback)
        {
            cutoffs[""] = Cutoff(fallback);
            // Tenants with calls and no setting of their own keep the default.
            await using var tenants = new NpgsqlCommand(
                "SELECT DISTINCT tenant_id FROM callmesh.rollup_state WHERE tenant_id NOT IN (SELECT tenant_id FROM callmesh.retention)", connection);
            await using var reader = await tenants.ExecuteReaderAsync();
            while (await reader.ReadAsync()) cutoffs[reader.GetString(0)] = Cutoff(fallback);
        }
        await using (var command = new NpgsqlCommand("SELECT tenant_id, call_months FROM callmesh.retention", connection))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) cutoffs[reader.GetString(0)] = Cutoff(reader.GetInt32(1));
        return cutoffs;
    }

    /// <summary>Drops each month's partition whose every tenant has let that whole month go.</summary>
    private async Task<List<string>> DropExpiredPartitionsAsync(NpgsqlConnection connection, Dictionary<string, DateTime> cutoffs,
        CancellationToken cancellation)
    {
        if (cutoffs.Count == 0) return [];
        var partitions = new List<(string Name, DateTime End)>();
        await using (var command = new NpgsqlCommand(
                   """
                   SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = 'callmesh.calls'::regclass AND c.relname ~ '^calls_[0-9]{4}_[0-9]{2}$' ORDER BY c.relname
                   """, connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellation))
            while (await reader.ReadAsync(cancellation))
            {
                var name = reader.GetString(0);
                var start = new DateTime(int.Parse(name[6..10]), int.Parse(name[11..13]), 1, 0, 0, 0, DateTimeKind.Utc);
                partitions.Add((name, start.AddMonths(1)));
            }
        var dropped = new List<string>();
        foreach (var (name, end) in partitions)
        {
            if (end > clock.GetUtcNow().UtcDateTime) break;
            var tenants = new List<string>();
            await using (var command = new NpgsqlCommand($"SELECT DISTINCT tenant_id FROM callmesh.{name}", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellation))
                while (await reader.ReadAsync(cancellation)) tenants.Add(reader.GetString(0));
            // An empty month costs nothing; a month some tenant still keeps stays.
            if (tenants.Count == 0 || tenants.Any(t => !cutoffs.TryGetValue(t, out var cutoff) || end > cutoff)) continue;
            await using var transaction = await connection.BeginTransactionAsync(cancellation);
            foreach (var tenantId in tenants)
                await KeepRollupsBeforeAsync(connection, tenantId, cutoffs[tenantId]);
            await Execute(connection, $"DELETE FROM callmesh.call_keys WHERE call_id IN (SELECT call_id FROM callmesh.{name})");
            // The silos may not change the schema: the function does it with its owner's rights (0023_application_role.sql).
            await Execute(connection, "SELECT callmesh.drop_call_partition($1)", name);
            await transaction.CommitAsync(cancellation);
            dropped.Add(name);
        }
        return dropped;
    }

    private static async Task<long> DeleteInBatchesAsync(NpgsqlConnection connection, string sql, string tenantId, DateTime cutoff,
        CancellationToken cancellation)
    {
        long total = 0;
        while (!cancellation.IsCancellationRequested)
        {
            var deleted = await Execute(connection, sql, tenantId, cutoff);
            total += deleted;
            if (deleted < BatchRows) break;
        }
        return total;
    }

    private static async Task<int> Execute(NpgsqlConnection connection, string sql, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        return await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> Scalar<T>(NpgsqlConnection connection, string sql, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        return (T)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>Runs <see cref="Retention"/> on every silo every interval (one at a time wins the round), and once soon after start.</summary>
public sealed class HistoryMaintenance(Retention retention, HistoryOptions options, ILogger<HistoryMaintenance> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await Task.Delay(TimeSpan.FromSeconds(30), stopping);
        using var timer = new PeriodicTimer(options.MaintenanceInterval);
        do
        {
            try { await retention.RunOnceAsync(stopping); }
            catch (Exception e) when (!stopping.IsCancellationRequested) { logger.LogWarning(e, "History maintenance failed; it runs again next round"); }
        } while (await timer.WaitForNextTickAsync(stopping));
    }
}
