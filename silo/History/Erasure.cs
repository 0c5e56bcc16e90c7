using System.Security.Cryptography;
using System.Text;
using CallMesh.Calls;
using CallMesh.Common;
using Npgsql;

namespace CallMesh.Silo.History;

/// <summary>What erasing a caller changed.</summary>
public sealed record ErasureResult(int CallsChanged, int VisitorsChanged, bool Unblocked, int AuditEntriesChanged, int OutboxEventsChanged);

/// <summary>
/// Erasure of one caller's data on a data subject's request (docs/history.md). On every call of the number to the tenant:
/// the number becomes <see cref="ErasedCaller"/>, the recording link and the link to the web visitor (visitor, session,
/// click id, landing page, candidate holds) are removed. Source, medium, campaign, measures and outcomes stay, so
/// rollups keep their counts. The number also leaves the blocklist and the audit log, and the grains that held it in
/// memory forget it; events about its calls in the outbox lose the same fields. One audit entry records the erasure by a
/// hash of the number, never the number.
/// </summary>
public sealed class Erasure(NpgsqlDataSource database, IGrainFactory grains)
{
    public const string ErasedCaller = "erased";

    public async Task<ErasureResult> EraseAsync(string tenantId, string number, string actor)
    {
        var calls = new List<(string CallId, Guid? VisitorId)>();
        bool unblocked;
        int audits, events;
        await using (var connection = await database.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var command = new NpgsqlCommand(
                       """
                       WITH before AS (SELECT call_id, started_at, visitor_id FROM callmesh.calls WHERE caller = $2 AND tenant_id = $1 FOR UPDATE)
                       UPDATE callmesh.calls c SET caller = $3, recording_url = NULL, visitor_id = NULL, session_id = NULL, gclid = NULL,
                              click_ids = NULL, landing_page = NULL, match_candidates = NULL, revision = c.revision + 1, updated_at = now()
                         FROM before b WHERE c.call_id = b.call_id AND c.started_at = b.started_at
                       RETURNING c.call_id, b.visitor_id
                       """, connection, transaction))
            {
                command.Parameters.Add(new() { Value = tenantId });
                command.Parameters.Add(new() { Value = number });
                command.Parameters.Add(new() { Value = ErasedCaller });
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync()) calls.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetGuid(1)));
            }
            // Events waiting in the outbox (or kept for the delivery log and replays) carry the call as it was: erased the same way.
            events = await Execute(connection, transaction,
                """
                UPDATE callmesh.outbox_events SET payload = (payload::jsonb || jsonb_build_object('caller', $3::text, 'recordingUrl', NULL,
                       'visitorId', NULL, 'sessionId', NULL, 'gclid', NULL, 'clickIds', NULL, 'landingPage', NULL, 'matchCandidates', NULL))::json
                 WHERE tenant_id = $1 AND call_id = ANY($2)
                """, tenantId, calls.Select(c => c.CallId).ToArray(), ErasedCaller);
            unblocked = await Execute(connection, transaction, "DELETE FROM callmesh.blocked_callers WHERE tenant_id = $1 AND caller = $2", tenantId, number) > 0;
            audits = await Execute(connection, transaction,
                """
                UPDATE callmesh.config_audit SET entity_id = CASE WHEN entity_id = $2 THEN $3 ELSE entity_id END,
                       body = CASE WHEN strpos(body::text, $2) > 0 THEN jsonb_build_object('erased', true) ELSE body END
                 WHERE tenant_id = $1 AND (entity_id = $2 OR strpos(body::text, $2) > 0)
                """, tenantId, number, ErasedCaller);
            await Execute(connection, transaction,
                "INSERT INTO callmesh.config_audit (tenant_id, entity, entity_id, actor, body) VALUES ($1, 'privacy', 'erase', $2, $3::jsonb)",
                tenantId, actor, $$"""{"numberSha256": "{{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(number)))}}", "calls": {{calls.Count}}}""");
            await transaction.CommitAsync();
        }
        // Grains that read the rows before hold the number in memory: they drop it (and read the rows again if asked).
        await grains.GetGrain<ICallerGrain>(TenantKey.For(tenantId, number)).Forget();
        await Task.WhenAll(calls.Select(c => grains.GetGrain<ICallGrain>(TenantKey.For(tenantId, c.CallId)).Forget()));
        return new ErasureResult(calls.Count, calls.Where(c => c.VisitorId is not null).Select(c => c.VisitorId).Distinct().Count(), unblocked,
            audits, events);
    }

    private static async Task<int> Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var p in parameters) command.Parameters.Add(new NpgsqlParameter { Value = p });
        return await command.ExecuteNonQueryAsync();
    }
}
