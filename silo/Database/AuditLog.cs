using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Silo.Database;

/// <summary>Records configuration changes in callmesh.config_audit and reads them back for brand admins.</summary>
public sealed class AuditLog(NpgsqlDataSource database)
{
    public async Task RecordAsync(string tenantId, string entity, string entityId, string actor, object body)
    {
        await using var command = database.CreateCommand(
            "INSERT INTO callmesh.config_audit (tenant_id, entity, entity_id, actor, body) VALUES ($1, $2, $3, $4, $5)");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(entity);
        command.Parameters.AddWithValue(entityId);
        command.Parameters.AddWithValue(actor);
        command.Parameters.AddWithValue(NpgsqlDbType.Jsonb, JsonSerializer.Serialize(body, JsonGrainStateSerializer.Options));
        await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<AuditEntry>> ListAsync(string tenantId, int limit)
    {
        await using var command = database.CreateCommand(
            """
            SELECT entity, entity_id, actor, changed_at, body::text FROM callmesh.config_audit
             WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(limit);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            entries.Add(new AuditEntry(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.GetFieldValue<DateTime>(3), JsonDocument.Parse(reader.GetString(4)).RootElement));
        return entries;
    }
}

public sealed record AuditEntry(string Entity, string EntityId, string Actor, DateTime ChangedAt, JsonElement Body);
