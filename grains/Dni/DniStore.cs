using CallMesh.Common;
using CallMesh.Visitors;
using Npgsql;
using NpgsqlTypes;
using static NpgsqlTypes.NpgsqlDbType;

namespace CallMesh.Dni;

public sealed record HeldLease(string TenantId, string PoolId, Guid VisitorId, Guid SessionId, string? LocationId, DateTime LeasedAt,
    DateTime? ReleasedAt, DateTime? LastSeenAt = null, bool EarlyReuse = false);

public sealed record LiveLease(string PoolId, string Number, Guid VisitorId, Guid SessionId, DateTime LeasedAt);

/// <summary>
/// Reads of the DNI tables: a visitor's history, a pool's live holds, a number's holder and last holds. Who writes them:
/// <see cref="DniJournal"/> (the visitor journals its sessions, touches and leases; the pool journals releases).
/// </summary>
public sealed class DniStore(NpgsqlDataSource database)
{
    /// <summary>A visitor's sessions and touches, oldest first: what a call's attribution reads.</summary>
    public async Task<VisitorHistory> LoadHistoryAsync(string tenantId, Guid visitorId)
    {
        await using var batch = database.CreateBatch();
        AddHistoryCommands(batch, tenantId, visitorId);
        await using var reader = await batch.ExecuteReaderAsync();
        return await ReadHistory(reader);
    }

    /// <summary>The history and the visitor's live holds in one round trip: what a visitor's activation restores.</summary>
    public async Task<(VisitorHistory History, List<LiveLease> Leases)> LoadVisitorAsync(string tenantId, Guid visitorId)
    {
        await using var batch = database.CreateBatch();
        AddHistoryCommands(batch, tenantId, visitorId);
        // "tenant_id || ''" checks the tenant without letting the planner walk a tenant-first index (0008_keyed_lookups.sql).
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT pool_id, number, visitor_id, session_id, leased_at FROM callmesh.number_leases
             WHERE visitor_id = $1 AND kind = 'lease' AND released_at IS NULL AND tenant_id || '' = $2
            """, visitorId, tenantId));
        await using var reader = await batch.ExecuteReaderAsync();
        var history = await ReadHistory(reader);
        await reader.NextResultAsync();
        return (history, await ReadLeases(reader));
    }

    private static void AddHistoryCommands(NpgsqlBatch batch, string tenantId, Guid visitorId)
    {
        batch.BatchCommands.Add(Sql.Command(
            "SELECT session_id, started_at, landing_url, is_test FROM callmesh.dni_sessions WHERE tenant_id = $1 AND visitor_id = $2 ORDER BY started_at",
            tenantId, visitorId));
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT session_id, at, source, medium, campaign, keyword, gclid, gbraid, wbraid, msclkid, fbclid, landing_page, referrer, decided_by
              FROM callmesh.touchpoints WHERE tenant_id = $1 AND visitor_id = $2 ORDER BY at, id
            """, tenantId, visitorId));
    }

    /// <summary>Reads the two results of <see cref="AddHistoryCommands"/>, leaving the reader on the second.</summary>
    private static async Task<VisitorHistory> ReadHistory(NpgsqlDataReader reader)
    {
        var sessions = new List<VisitorSession>();
        while (await reader.ReadAsync())
            sessions.Add(new VisitorSession(reader.GetGuid(0), reader.GetDateTime(1), reader.GetString(2), reader.GetBoolean(3)));
        await reader.NextResultAsync();
        var touches = new List<Touchpoint>();
        while (await reader.ReadAsync())
        {
            string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            touches.Add(new Touchpoint(reader.GetGuid(0), reader.GetDateTime(1), reader.GetString(2), reader.GetString(3), S(4), S(5),
                new ClickIds(S(6), S(7), S(8), S(9), S(10)), reader.GetString(11), S(12), reader.GetString(13)));
        }
        return new VisitorHistory(sessions, touches);
    }

    /// <summary>A pool's live holds, and when each of its numbers was last released (for least-recently-released order).</summary>
    public async Task<(List<LiveLease> Live, Dictionary<string, DateTime> LastReleased)> LoadPoolAsync(string tenantId, string poolId)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT pool_id, number, visitor_id, session_id, leased_at FROM callmesh.number_leases
             WHERE tenant_id = $1 AND pool_id = $2 AND kind = 'lease' AND released_at IS NULL
            """, tenantId, poolId));
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT number, max(released_at) FROM callmesh.number_leases
             WHERE tenant_id = $1 AND pool_id = $2 AND kind = 'lease' AND released_at IS NOT NULL GROUP BY number
            """, tenantId, poolId));
        await using var reader = await batch.ExecuteReaderAsync();
        var live = await ReadLeases(reader);
        await reader.NextResultAsync();
        var released = new Dictionary<string, DateTime>();
        while (await reader.ReadAsync()) released[reader.GetString(0)] = reader.GetDateTime(1);
        return (live, released);
    }

    /// <summary>Who holds <paramref name="number"/> now according to the database, if anyone.</summary>
    public async Task<LiveLease?> LoadHolderAsync(string tenantId, string number)
    {
        await using var batch = database.CreateBatch();
        // By the number, the tenant checked apart (see LoadVisitorAsync).
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT pool_id, number, visitor_id, session_id, leased_at FROM callmesh.number_leases
             WHERE number = $1 AND kind = 'lease' AND released_at IS NULL AND tenant_id || '' = $2
            """, number, tenantId));
        await using var reader = await batch.ExecuteReaderAsync();
        return (await ReadLeases(reader)).FirstOrDefault();
    }

    /// <summary>
    /// The last two holds of <paramref name="number"/> that began by <paramref name="at"/>, newest first: the one a call at that
    /// moment belongs to (live then, or its last holder), and the one before it (did the number change hands too soon?).
    /// Any tenant's: the caller checks.
    /// </summary>
    public async Task<List<HeldLease>> FindLastHoldsAsync(string number, DateTime at)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(LastHoldsCommand(number, at));
        await using var reader = await batch.ExecuteReaderAsync();
        return await ReadHoldsAsync(reader);
    }

    /// <summary>The statement of <see cref="FindLastHoldsAsync"/>, to share a round trip with others.</summary>
    public static NpgsqlBatchCommand LastHoldsCommand(string number, DateTime at) => Common.Sql.Command(
        """
        SELECT tenant_id, pool_id, visitor_id, session_id, location_id, leased_at, released_at, last_seen_at, early_reuse
          FROM callmesh.number_leases
         WHERE number = $1 AND kind = 'lease' AND leased_at <= $2
         ORDER BY leased_at DESC LIMIT 2
        """, number, at);

    public static async Task<List<HeldLease>> ReadHoldsAsync(NpgsqlDataReader reader)
    {
        var holds = new List<HeldLease>(2);
        while (await reader.ReadAsync())
            holds.Add(new HeldLease(reader.GetString(0), reader.GetString(1), reader.GetGuid(2), reader.GetGuid(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetDateTime(5), reader.IsDBNull(6) ? null : reader.GetDateTime(6),
                reader.IsDBNull(7) ? null : reader.GetDateTime(7), reader.GetBoolean(8)));
        return holds;
    }

    private static async Task<List<LiveLease>> ReadLeases(NpgsqlDataReader reader)
    {
        var leases = new List<LiveLease>();
        while (await reader.ReadAsync())
            leases.Add(new LiveLease(reader.GetString(0), reader.GetString(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetDateTime(4)));
        return leases;
    }
}
