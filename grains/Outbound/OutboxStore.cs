using System.Text.Json;
using CallMesh.Calls;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Outbound;

/// <summary>An outbox event as a dispatcher sends it.</summary>
public sealed record OutboxEvent(long Seq, string EventId, string Type, DateTime OccurredAt, string Payload, int Attempts, DateTime? FirstAttemptAt,
    int Generation = 0);

/// <summary>What one attempt came to.</summary>
public sealed record AttemptResult(OutboxEvent Event, DateTime At, int? Status, int LatencyMs, string? Error, string? Response,
    TimeSpan? RetryAfter = null, string? GiveUp = null)
{
    public bool Delivered => Status is >= 200 and < 300 && GiveUp is null;
}

/// <summary>One delivery as the deliveries API lists it.</summary>
public sealed record DeliveryEntry(string EventId, string Type, string CallId, DateTime OccurredAt, string State, int Attempts,
    int? LastStatus, string? LastError, DateTime? NextAttemptAt, DateTime? DeliveredAt, long Seq);

public sealed record AttemptEntry(int Attempt, DateTime At, int? Status, int LatencyMs, string? Error, string? Response);

/// <summary>
/// callmesh.outbox_events, deliveries and delivery_attempts. Events are written by <see cref="CallStore"/> in the
/// transaction of the call change they report (<see cref="Enqueue"/>), so an event exists exactly when its change does;
/// the <see cref="DestinationGrain"/> of each destination reads and records its deliveries here.
/// </summary>
public sealed class OutboxStore([FromKeyedServices(OutboxStore.DataSourceKey)] NpgsqlDataSource database)
{
    /// <summary>
    /// The dispatchers' own pool, planned per query: a plan prepared while the deliveries table was nearly empty (seq scans
    /// and a nested anti-join) stayed cached on its connection and made each batch read the whole backlog (58 ms, 24,000
    /// buffers a query in the outbound bench). A few queries a second gain nothing from preparing.
    /// </summary>
    public const string DataSourceKey = "outbox";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // One statement per event: the matching destinations, the event (only if any matched) and a delivery for each.
    private const string EnqueueSql =
        """
        WITH matched AS (
            SELECT destination_id FROM callmesh.destinations
             WHERE tenant_id = $1 AND state <> 'disabled' AND $3 = ANY(events)
               AND callmesh.destination_accepts(filters, $3, $5, $6, $7, $8)),
        event AS (
            INSERT INTO callmesh.outbox_events (tenant_id, call_id, type, occurred_at, payload)
            SELECT $1, $2, $3, $4, $9 WHERE EXISTS (SELECT 1 FROM matched) RETURNING seq)
        INSERT INTO callmesh.deliveries (destination_id, seq, call_id)
        SELECT m.destination_id, e.seq, $2 FROM matched m, event e
        """;

    /// <summary>
    /// Which of <paramref name="tenantIds"/> have a destination that takes events, read in the transaction that writes their
    /// calls: most tenants have none, and their calls then skip <see cref="Enqueue"/> (its statements, and the payload
    /// each event's statement would carry to PostgreSQL to be parsed and dropped). A destination made after this read
    /// takes events from the calls written after it.
    /// </summary>
    public static NpgsqlBatchCommand TenantsWithDestinations(string[] tenantIds) =>
        Common.Sql.Command("SELECT DISTINCT tenant_id FROM callmesh.destinations WHERE tenant_id = ANY($1) AND state <> 'disabled'", (object)tenantIds);

    /// <summary>
    /// The statements that queue the events between <paramref name="before"/> and <paramref name="after"/> for the tenant's
    /// destinations, to run in the transaction that writes <paramref name="after"/>.
    /// </summary>
    public static IEnumerable<NpgsqlBatchCommand> Enqueue(CallRecord? before, CallRecord after, DateTime now)
    {
        string? payload = null;
        foreach (var type in CallEvents.Between(before, after))
        {
            payload ??= JsonSerializer.Serialize(CallResource.From(after), Json);
            var command = new NpgsqlBatchCommand(EnqueueSql);
            var a = after.Attribution;
            command.Parameters.Add(new() { Value = after.TenantId });
            command.Parameters.Add(new() { Value = after.CallId });
            command.Parameters.Add(new() { Value = type });
            // The event's time: when the call started, ended or (for later changes) now.
            command.Parameters.Add(new() { Value = type == CallEvents.Started ? after.StartedAt : type == CallEvents.Completed ? after.EndedAt!.Value : now });
            command.Parameters.Add(new() { Value = (object?)a.LocationId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new() { Value = a.Source });
            command.Parameters.Add(new() { Value = after.FirstTime });
            command.Parameters.Add(new() { Value = Math.Max(after.DurationSeconds, after.TalkSeconds) });
            command.Parameters.Add(new() { Value = payload, NpgsqlDbType = NpgsqlDbType.Json });
            yield return command;
        }
    }

    /// <summary>
    /// An event's id (the webhook-id): its sequence number and random tag, never a '.', the same on every retry and replay.
    /// The tag keeps ids unguessable from one another and distinct across installations.
    /// </summary>
    public static string EventId(long seq, int tag) => $"evt_{seq}_{tag:x8}";

    /// <summary>The seq and tag of an id <see cref="EventId"/> made, or null.</summary>
    public static (long Seq, int Tag)? ParseEventId(string id) =>
        id.StartsWith("evt_", StringComparison.Ordinal) && id[4..].Split('_') is [var seq, var tag]
        && long.TryParse(seq, System.Globalization.NumberStyles.None, null, out var s)
        && int.TryParse(tag, System.Globalization.NumberStyles.AllowHexSpecifier, null, out var t) && tag.Length == 8
            ? (s, t) : null;

    /// <summary>
    /// The destination's next events to send, oldest first: for each call only its oldest unfinished event (so a call's
    /// events arrive in order, a failed one holding back the later ones of its call but no other call's), when it is due.
    /// The oldest is asked per row (a subquery keyed by the call, one index probe): written as a join, a plan made from
    /// a young table's statistics compared every pending row with every other (82 ms, 63,000 buffers a batch).
    /// </summary>
    public async Task<List<OutboxEvent>> DueAsync(string destinationId, int limit)
    {
        await using var command = database.CreateCommand(
            """
            SELECT e.seq, e.tag, e.type, e.occurred_at, e.payload::text, d.attempts, d.first_attempt_at, d.generation
              FROM callmesh.deliveries d JOIN callmesh.outbox_events e ON e.seq = d.seq
             WHERE d.destination_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= now()
               AND d.seq = (SELECT min(p.seq) FROM callmesh.deliveries p
                             WHERE p.destination_id = $1 AND p.call_id = d.call_id AND p.state = 'pending')
             ORDER BY d.seq LIMIT $2
            """);
        command.Parameters.Add(new() { Value = destinationId });
        command.Parameters.Add(new() { Value = limit });
        var due = new List<OutboxEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            due.Add(new OutboxEvent(reader.GetInt64(0), EventId(reader.GetInt64(0), reader.GetInt32(1)), reader.GetString(2), reader.GetDateTime(3), reader.GetString(4),
                reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetDateTime(6), reader.GetInt32(7)));
        return due;
    }

    /// <summary>
    /// Records a batch of attempts in one transaction: delivered, retried at its next time, or dead once the retry schedule
    /// is spent; with the destination's health (a success clears its failure and brings its waiting retries forward,
    /// since the receiver is back; 410 Gone, or failing longer than <see cref="OutboundOptions.DisableAfter"/>, disables it).
    /// </summary>
    public async Task RecordAsync(string destinationId, IReadOnlyList<AttemptResult> results, OutboundOptions options)
    {
        if (results.Count == 0) return;
        var next = results.Select(r => r.Delivered || r.GiveUp is not null ? (DateTime?)null : NextAttempt(r, options)).ToArray();
        var states = results.Select((r, i) => r.Delivered ? "delivered" : r.GiveUp is not null || next[i] is null ? "dead" : "pending").ToArray();
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = new NpgsqlBatch(connection, transaction);
        var seqs = results.Select(r => r.Event.Seq).ToArray();
        batch.BatchCommands.Add(Common.Sql.Command(
            """
            UPDATE callmesh.deliveries d SET state = u.state, attempts = d.attempts + 1, last_status = u.status, last_error = u.error,
                   next_attempt_at = coalesce(u.next, d.next_attempt_at), first_attempt_at = coalesce(d.first_attempt_at, u.at),
                   delivered_at = CASE WHEN u.state = 'delivered' THEN u.at END
              FROM unnest($2::bigint[], $3::text[], $4::integer[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::integer[])
                   AS u(seq, state, status, error, next, at, generation)
             WHERE d.destination_id = $1 AND d.seq = ANY($2) AND d.seq = u.seq AND d.generation = u.generation
            """,
            destinationId, seqs, states, results.Select(r => r.Status).ToArray(), results.Select(r => r.GiveUp ?? r.Error).ToArray(),
            next, results.Select(r => r.At).ToArray(), results.Select(r => r.Event.Generation).ToArray()));
        batch.BatchCommands.Add(Common.Sql.Command(
            """
            INSERT INTO callmesh.delivery_attempts (destination_id, seq, generation, attempt, at, status, latency_ms, error, response)
            SELECT $1, u.seq, u.generation, u.attempt, u.at, u.status, u.latency, u.error, u.response
              FROM unnest($2::bigint[], $3::timestamptz[], $4::integer[], $5::integer[], $6::text[], $7::text[], $8::integer[], $9::integer[])
                   AS u(seq, at, status, latency, error, response, generation, attempt)
              JOIN callmesh.deliveries d ON d.destination_id = $1 AND d.seq = ANY($2) AND d.seq = u.seq
            ON CONFLICT DO NOTHING
            """,
            destinationId, seqs, results.Select(r => r.At).ToArray(), results.Select(r => r.Status).ToArray(),
            results.Select(r => r.LatencyMs).ToArray(), results.Select(r => r.GiveUp ?? r.Error).ToArray(), results.Select(r => r.Response).ToArray(),
            results.Select(r => r.Event.Generation).ToArray(), results.Select(r => r.Event.Attempts + 1).ToArray()));
        if (results.Any(r => r.Delivered))
        {
            batch.BatchCommands.Add(Common.Sql.Command(
                """
                UPDATE callmesh.deliveries SET next_attempt_at = now()
                 WHERE destination_id = $1 AND state = 'pending' AND next_attempt_at > now()
                   AND EXISTS (SELECT 1 FROM callmesh.destinations WHERE destination_id = $1 AND failing_since IS NOT NULL)
                """, destinationId));
            batch.BatchCommands.Add(Common.Sql.Command(
                "UPDATE callmesh.destinations SET failing_since = NULL WHERE destination_id = $1 AND failing_since IS NOT NULL", destinationId));
        }
        else if (results.Any(r => r.GiveUp is null))
        {
            var gone = results.Any(r => r.Status == 410);
            batch.BatchCommands.Add(Common.Sql.Command(
                """
                UPDATE callmesh.destinations SET failing_since = coalesce(failing_since, $2),
                       state = CASE WHEN state = 'active' AND ($3 OR coalesce(failing_since, $2) < $2 - $4::interval) THEN 'disabled' ELSE state END,
                       state_reason = CASE WHEN state = 'active' AND $3 THEN 'The receiver answered 410 Gone.'
                                           WHEN state = 'active' AND coalesce(failing_since, $2) < $2 - $4::interval
                                           THEN 'Every delivery failed for ' || $4::interval || '.' ELSE state_reason END,
                       state_changed_at = CASE WHEN state = 'active' AND ($3 OR coalesce(failing_since, $2) < $2 - $4::interval) THEN $2 ELSE state_changed_at END
                 WHERE destination_id = $1
                """, destinationId, results.Max(r => r.At), gone, options.DisableAfter));
        }
        await batch.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    /// <summary>
    /// When to try again after this attempt (the schedule's next delay, ±10 % so that a recovered receiver is not hit by every
    /// retry at once, and never sooner than its Retry-After), or null when the schedule is spent: the event is dead.
    /// </summary>
    public static DateTime? NextAttempt(AttemptResult result, OutboundOptions options)
    {
        var attempt = result.Event.Attempts + 1;   // attempts made, this one included
        if (attempt > options.RetrySchedule.Count) return null;
        var delay = options.RetrySchedule[attempt - 1] * (0.9 + Random.Shared.NextDouble() * 0.2);
        if (result.RetryAfter is { } asked && asked > delay) delay = asked < TimeSpan.FromHours(24) ? asked : TimeSpan.FromHours(24);
        return result.At + delay;
    }

    /// <summary>The destination's deliveries, newest first, before the cursor (an event's seq).</summary>
    public async Task<List<DeliveryEntry>> ListAsync(string destinationId, int limit, long? before)
    {
        await using var command = database.CreateCommand(
            """
            SELECT e.tag, e.type, e.call_id, e.occurred_at, d.state, d.attempts, d.last_status, d.last_error,
                   CASE WHEN d.state = 'pending' THEN d.next_attempt_at END, d.delivered_at, d.seq
              FROM callmesh.deliveries d JOIN callmesh.outbox_events e ON e.seq = d.seq
             WHERE d.destination_id = $1 AND ($2::bigint IS NULL OR d.seq < $2)
             ORDER BY d.seq DESC LIMIT $3
            """);
        command.Parameters.Add(new() { Value = destinationId });
        command.Parameters.Add(new() { Value = (object?)before ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new() { Value = limit });
        var list = new List<DeliveryEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            list.Add(new DeliveryEntry(EventId(reader.GetInt64(10), reader.GetInt32(0)), reader.GetString(1), reader.GetString(2), reader.GetDateTime(3), reader.GetString(4),
                reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.IsDBNull(8) ? null : reader.GetDateTime(8), reader.IsDBNull(9) ? null : reader.GetDateTime(9), reader.GetInt64(10)));
        return list;
    }

    /// <summary>
    /// Every attempt of one event's delivery to the destination, first first (a replay's attempts after the earlier ones,
    /// numbered from 1 again); null when the destination never had it.
    /// </summary>
    public async Task<List<AttemptEntry>?> AttemptsAsync(string destinationId, string eventId)
    {
        if (ParseEventId(eventId) is not var (seq, tag)) return null;
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Common.Sql.Command(
            "SELECT 1 FROM callmesh.deliveries d JOIN callmesh.outbox_events e ON e.seq = d.seq WHERE d.destination_id = $1 AND e.seq = $2 AND e.tag = $3",
            destinationId, seq, tag));
        batch.BatchCommands.Add(Common.Sql.Command(
            """
            SELECT attempt, at, status, latency_ms, error, response FROM callmesh.delivery_attempts
             WHERE destination_id = $1 AND seq = $2 ORDER BY generation, attempt
            """, destinationId, seq));
        await using var reader = await batch.ExecuteReaderAsync();
        if (!await reader.ReadAsync()) return null;
        await reader.NextResultAsync();
        var attempts = new List<AttemptEntry>();
        while (await reader.ReadAsync())
            attempts.Add(new AttemptEntry(reader.GetInt32(0), reader.GetDateTime(1), reader.IsDBNull(2) ? null : reader.GetInt32(2),
                reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        return attempts;
    }

    /// <summary>
    /// Sends again one event, or every event that occurred in [from, to): each becomes pending and due now, with a fresh
    /// retry schedule and the same event id (receivers that keep ids see a duplicate they can skip). Answers how many.
    /// </summary>
    public async Task<int> ReplayAsync(string destinationId, string? eventId, DateTime? from, DateTime? to)
    {
        (long Seq, int Tag)? one = null;
        if (eventId is not null && (one = ParseEventId(eventId)) is null) return 0;
        await using var command = database.CreateCommand(
            """
            UPDATE callmesh.deliveries d SET state = 'pending', attempts = 0, next_attempt_at = now(), first_attempt_at = NULL,
                   delivered_at = NULL, generation = d.generation + 1
              FROM callmesh.outbox_events e
             WHERE d.destination_id = $1 AND e.seq = d.seq
               AND ($2::bigint IS NULL OR (e.seq = $2 AND e.tag = $3))
               AND ($4::timestamptz IS NULL OR e.occurred_at >= $4) AND ($5::timestamptz IS NULL OR e.occurred_at < $5)
            """);
        command.Parameters.Add(new() { Value = destinationId });
        command.Parameters.Add(new() { Value = (object?)one?.Seq ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new() { Value = (object?)one?.Tag ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new() { Value = (object?)from ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)to ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>Active destinations with a delivery due: the ones whose dispatcher should run.</summary>
    /// <summary>Deliveries not yet delivered or dead, and how late the most overdue one is (for the outbox metrics).</summary>
    public async Task<(long Pending, TimeSpan Lag)> BacklogAsync()
    {
        await using var command = database.CreateCommand(
            """
            SELECT count(*), coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8
              FROM callmesh.deliveries WHERE state = 'pending'
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), TimeSpan.FromSeconds(Math.Max(0, reader.GetDouble(1))));
    }

    public async Task<List<string>> DueDestinationsAsync()
    {
        await using var command = database.CreateCommand(
            """
            SELECT d.destination_id FROM callmesh.destinations d
             WHERE d.state = 'active'
               AND EXISTS (SELECT 1 FROM callmesh.deliveries x
                            WHERE x.destination_id = d.destination_id AND x.state = 'pending' AND x.next_attempt_at <= now())
            """);
        var due = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) due.Add(reader.GetString(0));
        return due;
    }
}
