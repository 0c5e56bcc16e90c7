using Npgsql;

namespace CallMesh.Reports;

/// <summary>A row of imported spend: <c>LocationId</c> null for spend of the brand as a whole.</summary>
public sealed record SpendRow(DateOnly Day, string? LocationId, string Source, string Campaign, decimal Cost, string Currency);

/// <summary>callmesh.spend: daily ad spend per (location, source, campaign); a re-import replaces the cost.</summary>
public sealed class SpendStore(NpgsqlDataSource database)
{
    /// <summary>Writes all rows in one transaction and one round trip; answers how many replaced an existing day.</summary>
    public async Task<int> ReplaceAsync(string tenantId, IReadOnlyList<SpendRow> rows)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var row in rows)
        {
            // xmax <> 0 on the returned row: the upsert updated an existing one.
            batch.BatchCommands.Add(Common.Sql.Command(
                """
                INSERT INTO callmesh.spend (tenant_id, day, location_id, source, campaign, cost, currency)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (tenant_id, location_id, day, source, campaign)
                DO UPDATE SET cost = EXCLUDED.cost, currency = EXCLUDED.currency, imported_at = now()
                RETURNING xmax <> 0
                """, tenantId, row.Day, row.LocationId ?? "", row.Source, row.Campaign, row.Cost, row.Currency));
        }
        // Each location's days carry their spend for the brand and market reports.
        foreach (var location in rows.GroupBy(r => r.LocationId ?? RollupStore.Unassigned).OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            batch.BatchCommands.Add(RollupStore.RefreshSpend(tenantId, location.Key, DateOnly.MinValue, [.. location.Select(r => r.Day).Distinct()]));
            batch.BatchCommands.Add(RollupStore.RefreshMonths(tenantId, location.Key, DateOnly.MinValue,
                [.. location.Select(r => RollupStore.MonthOf(r.Day)).Distinct()]));
        }
        var replaced = 0;
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            do
            {
                while (await reader.ReadAsync()) if (reader.GetBoolean(0)) replaced++;
            } while (await reader.NextResultAsync());
        }
        await transaction.CommitAsync();
        return replaced;
    }
}
