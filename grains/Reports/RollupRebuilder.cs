using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Tenants;
using Npgsql;

namespace CallMesh.Reports;

/// <summary>What the tenant's rollups reflect (callmesh.rollup_state): the rules version history was last rebuilt under,
/// when, and the first local day whose calls are all still kept.</summary>
public sealed record RollupState(int RulesVersion, DateTime? RebuiltAt, DateOnly? CallsKeptFrom);

/// <summary>
/// Rebuilds one location's buckets from its calls, requalifying each call under the location's current conversion rules
/// (docs/history.md). One transaction per location, holding the location's lock exclusively: live call writes wait
/// for it (they are written behind the carrier's answer, so no caller waits) and reports keep reading the old buckets
/// until it commits.
/// </summary>
public sealed class RollupRebuilder(NpgsqlDataSource database, CallStore calls, IGrainFactory grains)
{
    /// <summary>
    /// <paramref name="locationId"/> null: the tenant's calls of no location. <paramref name="inTransaction"/> runs last,
    /// inside the transaction (a job moves its cursor there); answering false rolls everything back.
    /// </summary>
    public async Task<RebuildResult?> RebuildAsync(string tenantId, string? locationId,
        Func<NpgsqlConnection, NpgsqlTransaction, RebuildResult, Task<bool>>? inTransaction = null)
    {
        var rules = await RulesAsync(tenantId, locationId);
        var location = locationId ?? RollupStore.Unassigned;
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(RollupStore.LocationLock(tenantId, location, exclusive: true));
            await batch.ExecuteNonQueryAsync();
        }
        var keptFrom = (await StateAsync(tenantId, connection, transaction)).CallsKeptFrom ?? DateOnly.MinValue;
        var rows = await calls.ForRollupAsync(tenantId, locationId, keptFrom, connection: connection, transaction: transaction);
        var requalified = new List<CallRecord>();
        for (var i = 0; i < rows.Count; i++)
        {
            var (qualified, met) = Qualification.Evaluate(rules, rows[i]);
            if (qualified == rows[i].Qualified && met.SequenceEqual(rows[i].MetRules)) continue;
            rows[i] = rows[i] with { Qualified = qualified, MetRules = met, Revision = rows[i].Revision + 1 };
            requalified.Add(rows[i]);
        }
        await CallStore.RequalifyAsync(connection, transaction, requalified);
        var (buckets, changed) = await RollupStore.ReplaceAsync(connection, transaction, tenantId, location, keptFrom, rows.Select(Contributions.From));
        var result = new RebuildResult(rows.Count, buckets, changed, requalified.Count);
        if (inTransaction is not null && !await inTransaction(connection, transaction, result)) return null;
        await transaction.CommitAsync();
        return result;
    }

    /// <summary>The location's conversion rules, else the tenant's default (the rules a new call of that location gets).</summary>
    private async Task<ConversionRules> RulesAsync(string tenantId, string? locationId) =>
        (locationId is null ? null : (await grains.GetGrain<ILocationGrain>(TenantKey.For(tenantId, locationId)).Get())?.Config.ConversionRules)
        ?? (await grains.GetGrain<ITenantGrain>(tenantId).Get())?.Config.DefaultConversionRules
        ?? new ConversionRules();

    public async Task<RollupState> StateAsync(string tenantId, NpgsqlConnection? connection = null, NpgsqlTransaction? transaction = null)
    {
        const string sql = "SELECT rules_version, rebuilt_at, calls_kept_from FROM callmesh.rollup_state WHERE tenant_id = $1";
        await using var command = connection is null ? database.CreateCommand(sql) : new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new() { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new RollupState(reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetDateTime(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateOnly>(2))
            : new RollupState(0, null, null);
    }

    /// <summary>Every call of the tenant now reflects rules version <paramref name="rulesVersion"/>.</summary>
    public async Task MarkRebuiltAsync(string tenantId, int rulesVersion)
    {
        await using var command = database.CreateCommand(
            """
            INSERT INTO callmesh.rollup_state (tenant_id, rules_version, rebuilt_at) VALUES ($1, $2, now())
            ON CONFLICT (tenant_id) DO UPDATE SET rules_version = EXCLUDED.rules_version, rebuilt_at = now()
            """);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = rulesVersion });
        await command.ExecuteNonQueryAsync();
    }
}
