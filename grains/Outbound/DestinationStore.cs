using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Outbound;

/// <summary>
/// callmesh.destinations: a tenant's destinations, their write-only credentials (stored sealed: a JSON string in place of
/// the object, <see cref="Common.SealedSecrets"/>) and their dispatch state.
/// </summary>
public sealed class DestinationStore(NpgsqlDataSource database, Common.SealedSecrets secrets)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string Columns =
        "tenant_id, destination_id, kind, name, url, events, filters::text, settings::text, credentials::text, state, state_reason, " +
        "state_changed_at, failing_since, created_at, updated_at, feed_token_hash IS NOT NULL";

    public static string NewId() => "dst_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>A scheduled-fetch token for the ad-platform files (shown once) and what is stored of it.</summary>
    public static (string Token, byte[] Hash) NewFeedToken()
    {
        var token = "feed_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        return (token, FeedTokenHash(token));
    }

    public static byte[] FeedTokenHash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public async Task CreateAsync(Destination d, byte[]? feedTokenHash)
    {
        await using var command = database.CreateCommand(
            """
            INSERT INTO callmesh.destinations (tenant_id, destination_id, kind, name, url, events, filters, settings, credentials, feed_token_hash, state)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """);
        command.Parameters.AddRange(new NpgsqlParameter[]
        {
            new() { Value = d.TenantId }, new() { Value = d.Id }, new() { Value = d.Kind }, new() { Value = d.Name },
            new() { Value = (object?)d.Url ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text }, new() { Value = d.Events.ToArray() },
            Jsonb(d.Filters), Jsonb(d.Settings), Jsonb(secrets.Seal(JsonSerializer.Serialize(d.Credentials, Json))),
            new() { Value = (object?)feedTokenHash ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea }, new() { Value = d.State },
        });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Saves what a PATCH may change; a state change records when and why.</summary>
    public async Task UpdateAsync(Destination d)
    {
        await using var command = database.CreateCommand(
            """
            UPDATE callmesh.destinations SET name = $3, url = $4, events = $5, filters = $6, settings = $7, credentials = $8,
                   state_changed_at = CASE WHEN state <> $9 THEN now() ELSE state_changed_at END,
                   failing_since = CASE WHEN state <> $9 THEN NULL ELSE failing_since END,
                   state = $9, state_reason = $10, updated_at = now()
             WHERE tenant_id = $1 AND destination_id = $2
            """);
        command.Parameters.AddRange(new NpgsqlParameter[]
        {
            new() { Value = d.TenantId }, new() { Value = d.Id }, new() { Value = d.Name },
            new() { Value = (object?)d.Url ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text }, new() { Value = d.Events.ToArray() },
            Jsonb(d.Filters), Jsonb(d.Settings), Jsonb(secrets.Seal(JsonSerializer.Serialize(d.Credentials, Json))), new() { Value = d.State },
            new() { Value = (object?)d.StateReason ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
        });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Deletes the destination with its deliveries and their attempts (no foreign key does it: see 0020_outbox_write_path.sql).</summary>
    public async Task<bool> DeleteAsync(string tenantId, string id)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Common.Sql.Command("DELETE FROM callmesh.destinations WHERE tenant_id = $1 AND destination_id = $2", tenantId, id));
        batch.BatchCommands.Add(Common.Sql.Command("DELETE FROM callmesh.deliveries WHERE destination_id = $1", id));
        await batch.ExecuteNonQueryAsync();
        if (batch.BatchCommands[0].RecordsAffected == 0) return false;   // another tenant's, or none: disposing rolls back
        await transaction.CommitAsync();
        return true;
    }

    /// <summary>The tenant's destination, or null (also when <paramref name="id"/> is another tenant's).</summary>
    public async Task<Destination?> GetAsync(string tenantId, string id) =>
        (await QueryAsync("tenant_id = $1 AND destination_id = $2", tenantId, id)).FirstOrDefault();

    /// <summary>A destination by its id alone: its dispatcher's view.</summary>
    public async Task<Destination?> GetAsync(string id) => (await QueryAsync("destination_id = $1", id)).FirstOrDefault();

    public Task<List<Destination>> ListAsync(string tenantId, string? kind = null) =>
        QueryAsync("tenant_id = $1 AND ($2::text IS NULL OR kind = $2)", tenantId, (object?)kind ?? DBNull.Value);

    /// <summary>The destination whose scheduled-fetch token this is.</summary>
    public async Task<Destination?> ByFeedTokenAsync(string token) =>
        (await QueryAsync("feed_token_hash = $1", FeedTokenHash(token))).FirstOrDefault();

    private async Task<List<Destination>> QueryAsync(string where, params object[] parameters)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM callmesh.destinations WHERE {where} ORDER BY created_at, destination_id");
        foreach (var p in parameters)
            command.Parameters.Add(p is DBNull ? new NpgsqlParameter { Value = p, NpgsqlDbType = NpgsqlDbType.Text } : new NpgsqlParameter { Value = p });
        var list = new List<Destination>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            DateTime? T(int i) => reader.IsDBNull(i) ? null : reader.GetDateTime(i);
            list.Add(new Destination(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), S(4),
                [.. reader.GetFieldValue<string[]>(5)], JsonSerializer.Deserialize<DestinationFilters>(reader.GetString(6), Json)!,
                JsonSerializer.Deserialize<DestinationSettings>(reader.GetString(7), Json)!,
                Credentials(reader.GetString(8)), reader.GetString(9), S(10), T(11), T(12),
                reader.GetDateTime(13), reader.GetDateTime(14), reader.GetBoolean(15)));
        }
        return list;
    }

    /// <summary>Sealed credentials are a JSON string; an object is a row from before sealing.</summary>
    private DestinationCredentials Credentials(string json) =>
        JsonSerializer.Deserialize<DestinationCredentials>(
            json.StartsWith('"') ? secrets.Open(JsonSerializer.Deserialize<string>(json)!) : json, Json)!;

    private static NpgsqlParameter Jsonb<T>(T value) => new() { Value = JsonSerializer.Serialize(value, Json), NpgsqlDbType = NpgsqlDbType.Jsonb };
}
