using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Calls;

/// <summary>A number the tenant refuses calls from, with the reason a brand admin gave.</summary>
public sealed record BlockedCaller(string Number, string? Reason, DateTime BlockedAt);

/// <summary>What a calls listing asks for: a tenant, optionally some locations, a time window, a page after a cursor.</summary>
/// <summary>A page of the calls list; Outcome "none" means calls without one.</summary>
public sealed record CallQuery(string TenantId, IReadOnlyCollection<string>? Locations, DateTime? From, DateTime? To,
    (DateTime StartedAt, string CallId)? After, int Limit, string? Match = null, string? Source = null, string? Outcome = null, bool? FirstTime = null);

/// <summary>
/// callmesh.calls: one row per call, the CallGrain's record. The reads, and the statements <see cref="CallWriter"/> puts
/// in its transactions: a call's insert, then one update per change, so the row is always the grain's latest state
/// (listing, exports and rollup rebuilds read it).
/// </summary>
public sealed class CallStore(NpgsqlDataSource database)
{
    private const string Columns =
        "call_id, tenant_id, account_sid, tracking_number, caller, started_at, ended_at, status, answered, duration_seconds, talk_seconds, " +
        "recording_url, route, routing, number_kind, pool_id, static_key, location_id, source, medium, campaign, keyword, gclid, landing_page, " +
        "visitor_id, session_id, is_test, first_time, first_time_location, within_hours, qualified, met_rules, outcome, value, currency, " +
        "outcome_external_id, applied_events, days_since_previous, local_day, touches, revision, match, seconds_since_release, match_candidates, click_ids, " +
        "notes, follow_up, answered_by_step, ring_seconds, voicemail, kind, spam, dial_ended";

    private static readonly string[] ColumnNames = Columns.Split(", ");

    // A new call's row, written only when its key is new (the carrier may retry the webhook after our first answer).
    private static readonly string InsertIfNew =
        "WITH added AS (INSERT INTO callmesh.call_keys (call_id, tenant_id, started_at) VALUES ($1, $2, $6) ON CONFLICT DO NOTHING RETURNING 1) " +
        $"INSERT INTO callmesh.calls ({Columns}, updated_at) SELECT {string.Join(", ", ColumnNames.Select((_, i) => $"${i + 1}"))}, now() " +
        "WHERE EXISTS (SELECT 1 FROM added)";

    private const string ContributionColumns =
        "call_id, started_at, ended_at, answered, duration_seconds, route, source, medium, campaign, keyword, " +
        "is_test, first_time, qualified, outcome, value, local_day, touches, revision, talk_seconds, within_hours, days_since_previous, met_rules, " +
        "voicemail, ring_seconds, kind, spam, dial_ended";

    // What a call's later changes can touch (its deliveries, qualification, spam, outcome and follow-up), and only when the
    // stored row is the revision the grain changed: what the call's start decided is written once, by its insert.
    private const string UpdateRow =
        "UPDATE callmesh.calls SET ended_at = $3, status = $4, answered = $5, duration_seconds = $6, talk_seconds = $7, recording_url = $8, " +
        "qualified = $9, met_rules = $10, outcome = $11, value = $12, currency = $13, outcome_external_id = $14, applied_events = $15, " +
        "notes = $16, follow_up = $17, answered_by_step = $18, ring_seconds = $19, voicemail = $20, spam = $21, dial_ended = $22, " +
        "revision = $23, updated_at = now() WHERE call_id = $1 AND started_at = $2 AND revision = $24";

    /// <summary>A new call's row, written only when its key is new (<see cref="CallWriter.InsertAsync"/>): one row affected, or none.</summary>
    internal static NpgsqlBatchCommand InsertIfNewCommand(CallRecord call)
    {
        var command = new NpgsqlBatchCommand(InsertIfNew);
        command.Parameters.AddRange(Parameters(call));
        return command;
    }

    /// <summary>
    /// The statement that changes a call's row from <paramref name="before"/> to <paramref name="call"/>
    /// (<see cref="CallWriter.SaveAsync"/>): one row affected, or none when the stored revision is not <paramref name="before"/>'s.
    /// </summary>
    internal static NpgsqlBatchCommand UpdateCommand(CallRecord before, CallRecord call)
    {
        // The statement writes only the columns below: a change to anything else would be lost (and a call never moves).
        if (call != WithLaterChanges(before, call))
            throw new InvalidOperationException($"Call {call.CallId} changed what its start decided; only its insert writes that.");
        var command = new NpgsqlBatchCommand(UpdateRow);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<string> { TypedValue = call.CallId });
        p.Add(new NpgsqlParameter<DateTime> { TypedValue = call.StartedAt });
        p.Add(new NpgsqlParameter<DateTime?> { TypedValue = call.EndedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        p.Add(new NpgsqlParameter<string> { TypedValue = call.Status });
        p.Add(new NpgsqlParameter<bool> { TypedValue = call.Answered });
        p.Add(new NpgsqlParameter<int> { TypedValue = call.DurationSeconds });
        p.Add(new NpgsqlParameter<int> { TypedValue = call.TalkSeconds });
        p.Add(new NpgsqlParameter<string?> { TypedValue = call.RecordingUrl, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<bool> { TypedValue = call.Qualified });
        p.Add(new NpgsqlParameter<List<string>> { TypedValue = call.MetRules });
        p.Add(new NpgsqlParameter<string?> { TypedValue = call.Outcome, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<decimal?> { TypedValue = call.Value, NpgsqlDbType = NpgsqlDbType.Numeric });
        p.Add(new NpgsqlParameter<string?> { TypedValue = call.Currency, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<string?> { TypedValue = call.OutcomeExternalId, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<List<string>> { TypedValue = call.AppliedEvents });
        p.Add(new NpgsqlParameter<string?> { TypedValue = call.Notes, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<string?> { TypedValue = call.FollowUp, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<int?> { TypedValue = call.AnsweredByStep, NpgsqlDbType = NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter<int?> { TypedValue = call.RingSeconds, NpgsqlDbType = NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter<bool> { TypedValue = call.Voicemail });
        p.Add(new NpgsqlParameter<bool> { TypedValue = call.Spam });
        p.Add(new NpgsqlParameter<bool> { TypedValue = call.DialEnded });
        p.Add(new NpgsqlParameter<int> { TypedValue = call.Revision });
        p.Add(new NpgsqlParameter<int> { TypedValue = before.Revision });
        return command;
    }

    /// <summary><paramref name="before"/> with everything <see cref="UpdateRow"/> writes taken from <paramref name="call"/>.</summary>
    private static CallRecord WithLaterChanges(CallRecord before, CallRecord call) => before with
    {
        EndedAt = call.EndedAt,
        Status = call.Status,
        Answered = call.Answered,
        DurationSeconds = call.DurationSeconds,
        TalkSeconds = call.TalkSeconds,
        RecordingUrl = call.RecordingUrl,
        Qualified = call.Qualified,
        MetRules = call.MetRules,
        Outcome = call.Outcome,
        Value = call.Value,
        Currency = call.Currency,
        OutcomeExternalId = call.OutcomeExternalId,
        AppliedEvents = call.AppliedEvents,
        Notes = call.Notes,
        FollowUp = call.FollowUp,
        AnsweredByStep = call.AnsweredByStep,
        RingSeconds = call.RingSeconds,
        Voicemail = call.Voicemail,
        Spam = call.Spam,
        DialEnded = call.DialEnded,
        Revision = call.Revision,
    };

    private static NpgsqlParameter[] Parameters(CallRecord call)
    {
        var names = ColumnNames;
        var a = call.Attribution;
        object?[] values =
        [
            call.CallId, call.TenantId, call.AccountSid, call.TrackingNumber, call.Caller, call.StartedAt, call.EndedAt, call.Status, call.Answered,
            call.DurationSeconds, call.TalkSeconds, call.RecordingUrl, call.Routing.Route, JsonSerializer.Serialize(call.Routing), a.NumberKind, a.PoolId,
            a.StaticKey, a.LocationId, a.Source, a.Medium, a.Campaign, a.Keyword, a.Gclid, a.LandingPage, a.VisitorId, a.SessionId, a.IsTest,
            call.FirstTime, call.FirstTimeForLocation, call.WithinHours, call.Qualified, call.MetRules.ToArray(), call.Outcome, call.Value,
            call.Currency, call.OutcomeExternalId, call.AppliedEvents.ToArray(), call.DaysSincePreviousCall,
            call.ReportingDay, JsonSerializer.Serialize(call.Touches), call.Revision, a.Match, a.SecondsSinceRelease,
            a.Candidates is null ? null : JsonSerializer.Serialize(a.Candidates), a.ClickIds is null ? null : JsonSerializer.Serialize(a.ClickIds),
            call.Notes, call.FollowUp, call.AnsweredByStep, call.RingSeconds, call.Voicemail, call.Kind, call.Spam, call.DialEnded,
        ];
        return [.. values.Select((value, i) => names[i] is "routing" or "touches" or "match_candidates" or "click_ids"
            ? new NpgsqlParameter { Value = value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb }
            : value is null ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NullType(names[i]) } : new NpgsqlParameter { Value = value })];
    }

    private static NpgsqlDbType NullType(string column) => column switch
    {
        "ended_at" => NpgsqlDbType.TimestampTz,
        "visitor_id" or "session_id" => NpgsqlDbType.Uuid,
        "value" => NpgsqlDbType.Numeric,
        "days_since_previous" or "seconds_since_release" => NpgsqlDbType.Double,
        "answered_by_step" or "ring_seconds" => NpgsqlDbType.Integer,
        _ => NpgsqlDbType.Text,
    };

    /// <summary>
    /// What a new call's start reads (<see cref="CallStartReader"/>, several starts to a round trip): its tracking number,
    /// the number's last two holds up to the call's start (<see cref="Numbers.NumberDirectory"/>, <see cref="Dni.DniStore"/>),
    /// and the caller's history (<see cref="CallerAsync"/>), which the caller's grain takes when the call activates it.
    /// </summary>
    internal static void AddStartCommands(NpgsqlBatch batch, string number, DateTime at, string tenantId, string caller)
    {
        batch.BatchCommands.Add(Numbers.NumberDirectory.FindOneCommand(number));
        batch.BatchCommands.Add(Dni.DniStore.LastHoldsCommand(number, at));
        AddCallerCommands(batch, tenantId, caller, CarriedHistory + 1);
    }

    /// <summary>
    /// At most this many of a caller's calls ride along with a start's read: a number that called more (a robocaller) is
    /// read whole by its grain, once an activation, rather than by every one of its calls' starts.
    /// </summary>
    private const int CarriedHistory = 100;

    /// <summary>Reads the four results of <see cref="AddStartCommands"/>, from the one the reader is on.</summary>
    internal static async Task<StartFacts> ReadStartAsync(NpgsqlDataReader reader, string tenantId)
    {
        var found = await Numbers.NumberDirectory.ReadOneAsync(reader);
        await reader.NextResultAsync();
        var holds = await Dni.DniStore.ReadHoldsAsync(reader);
        await reader.NextResultAsync();
        var caller = await ReadCallerAsync(reader, tenantId, CarriedHistory);
        return new StartFacts(found?.TenantId == tenantId ? found : null, holds, caller);
    }

    public async Task<CallRecord?> LoadAsync(string tenantId, string callId)
    {
        // By the call's key alone (see 0008_keyed_lookups.sql): its start time picks the one partition to look in.
        // Another tenant's call is not this tenant's.
        await using var command = database.CreateCommand(
            $"SELECT {Columns} FROM callmesh.calls WHERE call_id = $1 AND started_at = (SELECT started_at FROM callmesh.call_keys WHERE call_id = $1)");
        command.Parameters.Add(new() { Value = callId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() && Read(reader) is { } call && call.TenantId == tenantId ? call : null;
    }

    /// <summary>Every call of one caller to the tenant (the caller's history), and whether the tenant blocked the caller.</summary>
    public async Task<CallerHistory> CallerAsync(string tenantId, string caller)
    {
        await using var batch = database.CreateBatch();
        AddCallerCommands(batch, tenantId, caller);
        await using var reader = await batch.ExecuteReaderAsync();
        return (await ReadCallerAsync(reader, tenantId))!;
    }

    private static void AddCallerCommands(NpgsqlBatch batch, string tenantId, string caller, int? limit = null)
    {
        // By the caller's number alone (see 0008_keyed_lookups.sql): one number's calls to every tenant are few.
        batch.BatchCommands.Add(Common.Sql.Command(
            "SELECT tenant_id, call_id, location_id, started_at, visitor_id, session_id, " +
            "CASE WHEN ended_at IS NOT NULL AND kind = 'call' THEN greatest(duration_seconds, talk_seconds) END FROM callmesh.calls WHERE caller = $1" +
            (limit is { } rows ? $" ORDER BY started_at DESC LIMIT {rows}" : ""), caller));
        batch.BatchCommands.Add(Common.Sql.Command("SELECT 1 FROM callmesh.blocked_callers WHERE tenant_id = $1 AND caller = $2", tenantId, caller));
    }

    /// <summary>
    /// Reads the two results of <see cref="AddCallerCommands"/>, from the one the reader is on; null when the caller has
    /// more than <paramref name="most"/> calls (to any tenant), which were then not all read.
    /// </summary>
    private static async Task<CallerHistory?> ReadCallerAsync(NpgsqlDataReader reader, string tenantId, int? most = null)
    {
        var history = new List<PastCall>();
        var rows = 0;
        while (await reader.ReadAsync())
            if (++rows > most) break;
            else if (reader.GetString(0) == tenantId)
                history.Add(new PastCall(reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetDateTime(3),
                    reader.IsDBNull(5) ? null : new CallerVisit(reader.GetGuid(4), reader.GetGuid(5), reader.GetDateTime(3)),
                    reader.IsDBNull(6) ? null : reader.GetInt32(6)));
        await reader.NextResultAsync();
        var blocked = await reader.ReadAsync();
        return rows > most ? null : new CallerHistory(history, blocked);
    }

    public async Task SetBlockedAsync(string tenantId, string caller, bool blocked, string? reason)
    {
        await using var command = database.CreateCommand(blocked
            ? """
              INSERT INTO callmesh.blocked_callers (tenant_id, caller, reason) VALUES ($1, $2, $3)
              ON CONFLICT (tenant_id, caller) DO UPDATE SET reason = EXCLUDED.reason
              """
            : "DELETE FROM callmesh.blocked_callers WHERE tenant_id = $1 AND caller = $2");
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = caller });
        if (blocked) command.Parameters.Add(new() { Value = (object?)reason ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<List<BlockedCaller>> BlockedCallersAsync(string tenantId)
    {
        await using var command = database.CreateCommand(
            "SELECT caller, reason, blocked_at FROM callmesh.blocked_callers WHERE tenant_id = $1 ORDER BY blocked_at DESC, caller");
        command.Parameters.Add(new() { Value = tenantId });
        var blocked = new List<BlockedCaller>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            blocked.Add(new BlockedCaller(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetDateTime(2)));
        return blocked;
    }

    /// <summary>
    /// Every call of a location (or, with no location, every call of the tenant that has none) with the fields
    /// <see cref="Reports.Contributions"/> and <see cref="Qualification"/> read and nothing else (a rebuild reads
    /// thousands): local days from <paramref name="from"/> on; with <paramref name="multiTouchTo"/>, only calls with several
    /// touches up to that day.
    /// </summary>
    public async Task<List<CallRecord>> ForRollupAsync(string tenantId, string? locationId, DateOnly from, DateOnly? multiTouchTo = null,
        NpgsqlConnection? connection = null, NpgsqlTransaction? transaction = null)
    {
        // Two shapes, so that each can walk calls_by_location_day.
        var sql = $"""
                   SELECT {ContributionColumns} FROM callmesh.calls
                    WHERE tenant_id = $1 AND {(locationId is null ? "location_id IS NULL AND $2::text IS NULL" : "location_id = $2")} AND local_day >= $3
                      AND ($4::date IS NULL OR (local_day <= $4 AND jsonb_array_length(touches) > 1))
                   """;
        await using var command = connection is null ? database.CreateCommand(sql) : new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = (object?)locationId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = from });
        command.Parameters.Add(new() { Value = (object?)multiTouchTo ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
        var calls = new List<CallRecord>();
        // Sources, media, campaigns and outcomes repeat from call to call: one string each, not one per row.
        var strings = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) calls.Add(ReadContribution(reader, tenantId, locationId, strings));
        return calls;
    }

    /// <summary>A call from <see cref="ContributionColumns"/>: what rollups and qualification read, nothing else.</summary>
    private static CallRecord ReadContribution(NpgsqlDataReader reader, string tenantId, string? locationId, Dictionary<string, string> strings)
    {
        string? Pooled(string? value) => value is null ? null : strings.TryGetValue(value, out var known) ? known : strings[value] = value;
        string? S(int i) => reader.IsDBNull(i) ? null : Pooled(reader.GetString(i));
        var route = reader.GetString(5);
        var touches = reader.GetString(16);
        return new CallRecord
        {
            CallId = reader.GetString(0), TenantId = tenantId, AccountSid = "", TrackingNumber = "", Caller = "",
            StartedAt = reader.GetDateTime(1), EndedAt = reader.IsDBNull(2) ? null : reader.GetDateTime(2), Status = "",
            Answered = reader.GetBoolean(3), DurationSeconds = reader.GetInt32(4),
            Routing = new CallRouting(route == "blocked" ? "reject" : "dial", route, null, "", false, null),
            Attribution = new CallAttribution("", null, null, locationId, S(6)!, S(7)!, S(8), S(9), null, null, null, null, reader.GetBoolean(10)),
            FirstTime = reader.GetBoolean(11), Qualified = reader.GetBoolean(12), Outcome = S(13),
            Value = reader.IsDBNull(14) ? null : reader.GetDecimal(14), LocalDay = reader.GetFieldValue<DateOnly>(15),
            Touches = touches == "[]" ? [] : [.. JsonSerializer.Deserialize<List<Reports.CallTouch>>(touches)!
                .Select(t => new Reports.CallTouch(t.At, Pooled(t.Source)!, Pooled(t.Medium)!, Pooled(t.Campaign), Pooled(t.Keyword)))],
            Revision = reader.GetInt32(17), TalkSeconds = reader.GetInt32(18), WithinHours = reader.GetBoolean(19),
            DaysSincePreviousCall = reader.IsDBNull(20) ? null : reader.GetDouble(20), MetRules = [.. reader.GetFieldValue<string[]>(21)],
            Voicemail = reader.GetBoolean(22), RingSeconds = reader.IsDBNull(23) ? null : reader.GetInt32(23), Kind = S(24)!,
            Spam = reader.GetBoolean(25), DialEnded = reader.GetBoolean(26),
        };
    }

    /// <summary>
    /// Sets the qualification of calls a rules rebuild found changed, each as a new revision (a call's grain holding an
    /// older one finds out when it saves, and applies its change again on the stored row).
    /// </summary>
    public static async Task RequalifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<CallRecord> calls)
    {
        if (calls.Count == 0) return;
        await using var command = new NpgsqlCommand(
            """
            UPDATE callmesh.calls c SET qualified = u.qualified, met_rules = string_to_array(u.met, ','), revision = c.revision + 1, updated_at = now()
              FROM unnest($1::text[], $2::timestamptz[], $3::boolean[], $4::text[]) AS u(call_id, started_at, qualified, met)
             WHERE c.call_id = u.call_id AND c.started_at = u.started_at
            """, connection, transaction);
        command.Parameters.Add(new() { Value = calls.Select(c => c.CallId).ToArray() });
        command.Parameters.Add(new() { Value = calls.Select(c => c.StartedAt).ToArray() });
        command.Parameters.Add(new() { Value = calls.Select(c => c.Qualified).ToArray() });
        command.Parameters.Add(new() { Value = calls.Select(c => string.Join(',', c.MetRules)).ToArray() });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Newest first; the cursor is the last row's (started_at, call_id).</summary>
    public async Task<List<CallRecord>> ListAsync(CallQuery query)
    {
        await using var command = database.CreateCommand(
            $"""
            SELECT {Columns} FROM callmesh.calls
             WHERE tenant_id = $1
               AND ($2::text[] IS NULL OR location_id = ANY($2))
               AND ($3::timestamptz IS NULL OR started_at >= $3)
               AND ($4::timestamptz IS NULL OR started_at < $4)
               AND ($5::timestamptz IS NULL OR (started_at, call_id) < ($5, $6::text))
               AND ($8::text IS NULL OR match = $8)
               AND ($9::text IS NULL OR source = $9)
               AND ($10::text IS NULL OR outcome = $10 OR ($10 = 'none' AND outcome IS NULL))
               AND ($11::boolean IS NULL OR first_time = $11)
             ORDER BY started_at DESC, call_id DESC
             LIMIT $7
            """);
        command.Parameters.Add(new() { Value = query.TenantId });
        command.Parameters.Add(new() { Value = (object?)query.Locations?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)query.From ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)query.To ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)query.After?.StartedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)query.After?.CallId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = query.Limit });
        command.Parameters.Add(new() { Value = (object?)query.Match ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)query.Source ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)query.Outcome ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)query.FirstTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean });
        var calls = new List<CallRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) calls.Add(Read(reader));
        return calls;
    }

    /// <summary>
    /// Missed calls not yet handled, oldest first after the cursor (exclusive): the locations' call-back list. The partial
    /// index of migration 0031 holds only these rows, so the list costs what is on it, not what the tenant ever received.
    /// </summary>
    public async Task<List<CallRecord>> FollowUpsAsync(string tenantId, IReadOnlyCollection<string>? locations, (DateTime StartedAt, string CallId)? after,
        int limit)
    {
        await using var command = database.CreateCommand(
            $"""
            SELECT {Columns} FROM callmesh.calls
             WHERE tenant_id = $1 AND awaits_call_back
               AND ($2::text[] IS NULL OR location_id = ANY($2))
               AND ($3::timestamptz IS NULL OR (started_at, call_id) > ($3, $4::text))
             ORDER BY started_at, call_id
             LIMIT $5
            """);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = (object?)locations?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)after?.StartedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)after?.CallId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = limit });
        var calls = new List<CallRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) calls.Add(Read(reader));
        return calls;
    }

    /// <summary>
    /// Calls for an export, oldest first after the cursor (exclusive), up to <paramref name="limit"/>, streamed as PostgreSQL
    /// sends them: memory stays flat however many rows there are. <see cref="ExportNextAsync"/> tells whether more follow.
    /// </summary>
    public async IAsyncEnumerable<CallRecord> ExportAsync(CallQuery query)
    {
        await using var command = ExportCommand(query, "", query.Limit);
        command.CommandTimeout = 0;   // a big export runs as long as the client reads
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) yield return Read(reader);
    }

    /// <summary>The cursor after the page <see cref="ExportAsync"/> gives for <paramref name="query"/>, or null when it is the last.</summary>
    public async Task<(DateTime StartedAt, string CallId)?> ExportNextAsync(CallQuery query)
    {
        // The page's last row and whether one follows it: an index walk over the page's keys, no row read.
        await using var command = ExportCommand(query, $"OFFSET {query.Limit - 1}", 2, "started_at, call_id");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(DateTime, string)>();
        while (await reader.ReadAsync()) rows.Add((reader.GetDateTime(0), reader.GetString(1)));
        return rows.Count == 2 ? rows[0] : null;
    }

    private NpgsqlCommand ExportCommand(CallQuery query, string offset, int limit, string columns = Columns)
    {
        var command = database.CreateCommand(
            $"""
            SELECT {columns} FROM callmesh.calls
             WHERE tenant_id = $1
               AND ($2::text[] IS NULL OR location_id = ANY($2))
               AND ($3::timestamptz IS NULL OR started_at >= $3)
               AND ($4::timestamptz IS NULL OR started_at < $4)
               AND ($5::timestamptz IS NULL OR (started_at, call_id) > ($5, $6::text))
             ORDER BY started_at, call_id
             {offset} LIMIT {limit}
            """);
        command.Parameters.Add(new() { Value = query.TenantId });
        command.Parameters.Add(new() { Value = (object?)query.Locations?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)query.From ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)query.To ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)query.After?.StartedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)query.After?.CallId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return command;
    }

    private static CallRecord Read(NpgsqlDataReader r)
    {
        string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        Guid? G(int i) => r.IsDBNull(i) ? null : r.GetGuid(i);
        return new CallRecord
        {
            CallId = r.GetString(0), TenantId = r.GetString(1), AccountSid = r.GetString(2), TrackingNumber = r.GetString(3), Caller = r.GetString(4),
            StartedAt = r.GetDateTime(5), EndedAt = r.IsDBNull(6) ? null : r.GetDateTime(6), Status = r.GetString(7), Answered = r.GetBoolean(8),
            DurationSeconds = r.GetInt32(9), TalkSeconds = r.GetInt32(10), RecordingUrl = S(11),
            Routing = JsonSerializer.Deserialize<CallRouting>(r.GetString(13))!,
            Attribution = new CallAttribution(r.GetString(14), S(15), S(16), S(17), r.GetString(18), r.GetString(19), S(20), S(21), S(22), S(23),
                G(24), G(25), r.GetBoolean(26), r.GetString(41), r.IsDBNull(42) ? null : r.GetDouble(42),
                r.IsDBNull(43) ? null : JsonSerializer.Deserialize<List<MatchCandidate>>(r.GetString(43)),
                r.IsDBNull(44) ? null : JsonSerializer.Deserialize<Visitors.ClickIds>(r.GetString(44))),
            FirstTime = r.GetBoolean(27), FirstTimeForLocation = r.GetBoolean(28), WithinHours = r.GetBoolean(29), Qualified = r.GetBoolean(30),
            MetRules = [.. r.GetFieldValue<string[]>(31)], Outcome = S(32), Value = r.IsDBNull(33) ? null : r.GetDecimal(33), Currency = S(34),
            OutcomeExternalId = S(35), AppliedEvents = [.. r.GetFieldValue<string[]>(36)],
            DaysSincePreviousCall = r.IsDBNull(37) ? null : r.GetDouble(37),
            LocalDay = r.GetFieldValue<DateOnly>(38), Touches = JsonSerializer.Deserialize<List<Reports.CallTouch>>(r.GetString(39))!,
            Revision = r.GetInt32(40), Notes = S(45), FollowUp = S(46),
            AnsweredByStep = r.IsDBNull(47) ? null : r.GetInt32(47), RingSeconds = r.IsDBNull(48) ? null : r.GetInt32(48), Voicemail = r.GetBoolean(49),
            Kind = r.GetString(50), Spam = r.GetBoolean(51), DialEnded = r.GetBoolean(52),
        };
    }
}
