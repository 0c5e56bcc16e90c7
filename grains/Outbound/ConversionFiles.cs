using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Outbound;

/// <summary>A qualified call as an ad-platform file row: its click ids, caller, and the time and value the platform first got.</summary>
public sealed record ConversionRow(string CallId, string Caller, DateTime StartedAt, string? Gclid, string? Gbraid, string? Wbraid,
    string? Msclkid, DateTime ConversionTime, decimal Value);

/// <summary>A conversion whose value changed (restate) or whose call no longer qualifies (retract) since a file carried it.</summary>
public sealed record ConversionAdjustment(string CallId, string ConversionName, DateTime At, string Type, decimal Value);

/// <summary>Which calls a file lists.</summary>
public enum ConversionFile { GoogleClicks, GoogleLeads, GoogleCalls, MicrosoftClicks }

/// <summary>
/// Rows of the ad-platform files (docs/outbound.md): qualified, non-test calls that pass the destination's filters, each
/// recorded in callmesh.conversion_ledger the first time a file carries it. Later files repeat the recorded time and
/// value, so the platform's dedup (click id, conversion name, time) ignores them, and a changed value goes out as an
/// adjustment instead of a second conversion.
/// </summary>
public sealed class ConversionFiles(NpgsqlDataSource database)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string Platform(ConversionFile file) => file switch
    {
        ConversionFile.GoogleCalls => "googleAdsCalls",
        ConversionFile.MicrosoftClicks => "microsoftAds",
        _ => "googleAds",
    };

    public async Task<List<ConversionRow>> RowsAsync(string tenantId, ConversionFile file, string conversionName, decimal defaultValue,
        DestinationFilters filters, DateTime from, DateTime to)
    {
        var which = file switch
        {
            ConversionFile.GoogleClicks => "(gclid IS NOT NULL OR click_ids->>'Gbraid' IS NOT NULL OR click_ids->>'Wbraid' IS NOT NULL)",
            ConversionFile.GoogleLeads => "(gclid IS NULL AND click_ids->>'Gbraid' IS NULL AND click_ids->>'Wbraid' IS NULL AND caller LIKE '+%')",
            ConversionFile.GoogleCalls => "(number_kind = 'static' AND medium = 'google-ads-call' AND caller LIKE '+%')",
            _ => "click_ids->>'Msclkid' IS NOT NULL",
        };
        await using var command = database.CreateCommand(
            $"""
            WITH picked AS (
                SELECT call_id, caller, started_at, value, gclid, click_ids->>'Gbraid' AS gbraid, click_ids->>'Wbraid' AS wbraid,
                       click_ids->>'Msclkid' AS msclkid
                  FROM callmesh.calls
                 WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3 AND qualified AND NOT is_test AND {which}
                   AND callmesh.destination_accepts($7, 'call.qualified', location_id, source, first_time, greatest(duration_seconds, talk_seconds))),
            recorded AS (
                INSERT INTO callmesh.conversion_ledger (tenant_id, platform, call_id, conversion_name, conversion_time, value)
                SELECT $1, $4, call_id, $5, started_at, coalesce(value, $6) FROM picked
                ON CONFLICT DO NOTHING RETURNING call_id, conversion_time, value)
            SELECT p.call_id, p.caller, p.started_at, p.gclid, p.gbraid, p.wbraid, p.msclkid,
                   coalesce(r.conversion_time, l.conversion_time), coalesce(r.value, l.value)
              FROM picked p
              LEFT JOIN recorded r ON r.call_id = p.call_id
              LEFT JOIN callmesh.conversion_ledger l ON l.tenant_id = $1 AND l.platform = $4 AND l.call_id = p.call_id AND l.conversion_name = $5
             ORDER BY p.started_at, p.call_id
            """);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = from });
        command.Parameters.Add(new() { Value = to });
        command.Parameters.Add(new() { Value = Platform(file) });
        command.Parameters.Add(new() { Value = conversionName });
        command.Parameters.Add(new() { Value = defaultValue });
        command.Parameters.Add(new() { Value = JsonSerializer.Serialize(filters, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        var rows = new List<ConversionRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            rows.Add(new ConversionRow(reader.GetString(0), reader.GetString(1), reader.GetDateTime(2), S(3), S(4), S(5), S(6),
                reader.GetDateTime(7), reader.IsDBNull(8) ? 0m : reader.GetDecimal(8)));
        }
        return rows;
    }

    /// <summary>
    /// Conversions of calls started in [from, to) that a Google Ads file carried, whose call's value now differs (restate to
    /// the new value) or that no longer qualify (retract), as of the call's last change (Google wants it after the conversion).
    /// </summary>
    public async Task<List<ConversionAdjustment>> AdjustmentsAsync(string tenantId, decimal defaultValue, DateTime from, DateTime to)
    {
        await using var command = database.CreateCommand(
            """
            SELECT l.call_id, l.conversion_name, greatest(c.updated_at, l.first_sent_at, l.conversion_time + interval '1 second'),
                   CASE WHEN c.qualified THEN 'RESTATE' ELSE 'RETRACT' END, coalesce(c.value, $4)
              FROM callmesh.conversion_ledger l
              JOIN callmesh.call_keys k ON k.call_id = l.call_id
              JOIN callmesh.calls c ON c.call_id = l.call_id AND c.started_at = k.started_at
             WHERE l.tenant_id = $1 AND l.platform = 'googleAds' AND l.conversion_time >= $2 AND l.conversion_time < $3
               AND (NOT c.qualified OR coalesce(c.value, $4) IS DISTINCT FROM l.value)
             ORDER BY l.conversion_time, l.call_id
            """);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = from });
        command.Parameters.Add(new() { Value = to });
        command.Parameters.Add(new() { Value = defaultValue });
        var list = new List<ConversionAdjustment>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            list.Add(new ConversionAdjustment(reader.GetString(0), reader.GetString(1), reader.GetDateTime(2), reader.GetString(3), reader.GetDecimal(4)));
        return list;
    }
}
