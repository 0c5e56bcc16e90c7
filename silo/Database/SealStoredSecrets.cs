using CallMesh.Common;
using Npgsql;

namespace CallMesh.Silo.Database;

/// <summary>
/// Seals the carrier tokens and destination credentials written before secrets were sealed (once, at start; every silo may
/// run it: a row is replaced only while it still holds the clear value read). Retried each minute while the database is away.
/// </summary>
public sealed class SealStoredSecrets(NpgsqlDataSource database, SealedSecrets secrets, ILogger<SealStoredSecrets> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var sealedRows = await SealAsync("carrier_accounts", "account_sid", "auth_token", "auth_token NOT LIKE 'dp1:%'", stoppingToken)
                    + await SealAsync("destinations", "destination_id", "credentials", "jsonb_typeof(credentials) = 'object'", stoppingToken);
                if (sealedRows > 0) logger.LogInformation("Sealed {Count} stored secrets written before sealing", sealedRows);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Sealing stored secrets waits for the database: {Reason}", e.Message);
                await Task.Delay(TimeSpan.FromMinutes(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Destination credentials are jsonb: sealed, the column holds one JSON string instead of an object.</summary>
    private async Task<int> SealAsync(string table, string key, string column, string clear, CancellationToken cancellation)
    {
        var rows = new List<(string Key, string Value)>();
        await using (var select = database.CreateCommand($"SELECT {key}, {column}::text FROM callmesh.{table} WHERE {clear}"))
        await using (var reader = await select.ExecuteReaderAsync(cancellation))
            while (await reader.ReadAsync(cancellation)) rows.Add((reader.GetString(0), reader.GetString(1)));
        var json = column == "credentials";
        var count = 0;
        foreach (var (id, value) in rows)
        {
            await using var update = database.CreateCommand(json
                ? $"UPDATE callmesh.{table} SET {column} = to_jsonb($2::text) WHERE {key} = $1 AND {column}::text = $3"
                : $"UPDATE callmesh.{table} SET {column} = $2 WHERE {key} = $1 AND {column} = $3");
            update.Parameters.Add(new() { Value = id });
            update.Parameters.Add(new() { Value = secrets.Seal(value) });
            update.Parameters.Add(new() { Value = value });
            count += await update.ExecuteNonQueryAsync(cancellation);
        }
        return count;
    }
}
