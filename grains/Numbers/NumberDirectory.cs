using Npgsql;

namespace CallMesh.Numbers;

/// <summary>One row of callmesh.tracking_numbers: who owns a tracking number and what it is used for.</summary>
public sealed record TrackingNumber(string Number, string TenantId, string Carrier, string? AccountSid, string Use,
    string? PoolId, string? LocationId, string? StaticKey, string? Medium = null, string? Source = null, string? Campaign = null);

/// <summary>A fixed number of a location for one offline medium; never in a pool, never swapped.</summary>
public sealed record StaticNumber(string Key, string Number, string Medium, string? Label, string? Source, string? Campaign);

public sealed record NumberImport(string Number, string Carrier, string? AccountSid);

/// <summary>
/// The directory of tracking numbers (callmesh.tracking_numbers). Its primary key makes a number
/// belong to one tenant at a time; a number has one use at a time and changes use only when
/// the configuration that holds it lets go of it first.
/// </summary>
public sealed class NumberDirectory(NpgsqlDataSource database)
{
    /// <summary>Imports numbers for a tenant, all or nothing. Returns the numbers another tenant already owns (then nothing is imported).</summary>
    public async Task<(int Imported, List<string> OwnedElsewhere)> ImportAsync(string tenantId, IReadOnlyList<NumberImport> numbers)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            """
            WITH incoming AS (
                SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS i(number, carrier, account_sid)),
            inserted AS (
                INSERT INTO callmesh.tracking_numbers (number, tenant_id, carrier, account_sid)
                SELECT number, $1, carrier, account_sid FROM incoming
                ON CONFLICT (number) DO NOTHING
                RETURNING number)
            SELECT i.number, (SELECT count(*) FROM inserted) AS imported
              FROM incoming i JOIN callmesh.tracking_numbers t ON t.number = i.number AND t.tenant_id <> $1
            UNION ALL
            SELECT NULL, (SELECT count(*) FROM inserted)
            """, connection, transaction);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = numbers.Select(n => n.Number).ToArray() });
        command.Parameters.Add(new() { Value = numbers.Select(n => n.Carrier).ToArray() });
        command.Parameters.Add(new() { Value = numbers.Select(n => n.AccountSid).ToArray() });
        var elsewhere = new List<string>();
        var imported = 0;
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
            {
                if (!reader.IsDBNull(0)) elsewhere.Add(reader.GetString(0));
                imported = (int)reader.GetInt64(1);
            }
        if (elsewhere.Count > 0)
        {
            await transaction.RollbackAsync();
            return (0, elsewhere);
        }
        await transaction.CommitAsync();
        return (imported, elsewhere);
    }

    public async Task<List<TrackingNumber>> ListAsync(string tenantId)
    {
        await using var command = database.CreateCommand(
            $"SELECT {TrackingNumberColumns} FROM callmesh.tracking_numbers WHERE tenant_id = $1 ORDER BY number");
        command.Parameters.Add(new() { Value = tenantId });
        return await ReadTrackingNumbers(command);
    }

    /// <summary>
    /// Every tenant's numbers (<paramref name="changedSince"/> null), or those changed since then: what each silo's routing
    /// snapshot holds. ReadAt is the database's time when the read began: a change committed later is stamped no earlier
    /// than the start of its own transaction.
    /// </summary>
    public async Task<(List<TrackingNumber> Numbers, DateTime ReadAt)> ForRoutingAsync(DateTime? changedSince, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await using var clock = new NpgsqlCommand("SELECT now()", connection, transaction);
        var readAt = (DateTime)(await clock.ExecuteScalarAsync(cancellationToken))!;
        await using var command = new NpgsqlCommand(changedSince is null
            ? $"SELECT {TrackingNumberColumns} FROM callmesh.tracking_numbers"
            : $"SELECT {TrackingNumberColumns} FROM callmesh.tracking_numbers WHERE updated_at >= $1", connection, transaction);
        if (changedSince is { } since) command.Parameters.Add(new() { Value = since });
        return (await ReadTrackingNumbers(command, cancellationToken), readAt);
    }

    /// <summary>The tenant's directory entries for <paramref name="numbers"/>; numbers it does not own are absent.</summary>
    public async Task<Dictionary<string, TrackingNumber>> FindAsync(string tenantId, IEnumerable<string> numbers)
    {
        var wanted = numbers.Distinct().ToArray();
        if (wanted.Length == 0) return [];
        // One number (every call's lookup) by plain equality: PostgreSQL keeps one plan for it, where an array made it
        // plan the statement again on every call (pg_stat_statements: as many plans as calls, docs/perf/inbound.md).
        await using var command = database.CreateCommand(wanted.Length == 1
            ? FindOneSql
            : $"SELECT {TrackingNumberColumns} FROM callmesh.tracking_numbers WHERE number = ANY($1)");
        command.Parameters.Add(wanted.Length == 1 ? new NpgsqlParameter { Value = wanted[0] } : new NpgsqlParameter { Value = wanted });
        // By the primary key alone (see 0008_keyed_lookups.sql); a number is one tenant's at a time.
        return (await ReadTrackingNumbers(command)).Where(n => n.TenantId == tenantId).ToDictionary(n => n.Number);
    }

    /// <summary>One number's row by its key (any tenant's: check the tenant), to share a round trip with others.</summary>
    public static NpgsqlBatchCommand FindOneCommand(string number) => Common.Sql.Command(FindOneSql, number);

    /// <summary>The row <see cref="FindOneCommand"/> found, or null.</summary>
    public static async Task<TrackingNumber?> ReadOneAsync(NpgsqlDataReader reader) =>
        await reader.ReadAsync() ? Read(reader) : null;

    private const string TrackingNumberColumns = "number, tenant_id, carrier, account_sid, use_kind, pool_id, location_id, static_key, medium, source, campaign";
    private const string FindOneSql = $"SELECT {TrackingNumberColumns} FROM callmesh.tracking_numbers WHERE number = $1";

    private static async Task<List<TrackingNumber>> ReadTrackingNumbers(NpgsqlCommand command, CancellationToken cancellationToken = default)
    {
        var numbers = new List<TrackingNumber>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) numbers.Add(Read(reader));
        return numbers;
    }

    private static TrackingNumber Read(NpgsqlDataReader reader)
    {
        string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        return new TrackingNumber(reader.GetString(0), reader.GetString(1), reader.GetString(2), S(3), reader.GetString(4), S(5), S(6), S(7), S(8), S(9), S(10));
    }

    /// <summary>
    /// Makes exactly <paramref name="numbers"/> the pool's numbers and <paramref name="overflow"/> its overflow
    /// number, in one transaction. Returns an error per number that the tenant does not own or
    /// that another pool or static use holds; then nothing changes.
    /// </summary>
    public async Task<Dictionary<string, string>> AssignPoolAsync(string tenantId, string poolId, string? locationId,
        IReadOnlyList<string> numbers, string? overflow)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var wanted = numbers.Select(n => (n, "pool")).ToList();
        if (overflow is not null) wanted.Add((overflow, "overflow"));

        var found = new Dictionary<string, (string Tenant, string Use, string? Pool)>();
        await using (var check = new NpgsqlCommand(
            "SELECT number, tenant_id, use_kind, pool_id FROM callmesh.tracking_numbers WHERE number = ANY($1) FOR UPDATE",
            connection, transaction))
        {
            check.Parameters.Add(new() { Value = wanted.Select(w => w.Item1).ToArray() });
            await using var reader = await check.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                found[reader.GetString(0)] = (reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3));
        }
        var errors = new Dictionary<string, string>();
        foreach (var (number, _) in wanted)
        {
            if (!found.TryGetValue(number, out var row) || row.Tenant != tenantId)
                errors[number] = "is not a tracking number of this tenant: import it first (POST /v1/tenants/{tenant}/numbers).";
            else if (row.Use == "static")
                errors[number] = "is a static number; remove it from its location first.";
            else if (row.Use is "pool" or "overflow" && row.Pool != poolId)
                errors[number] = $"is used by pool '{row.Pool}'; remove it there first.";
        }
        if (errors.Count > 0)
        {
            await transaction.RollbackAsync();
            return errors;
        }

        await using var release = new NpgsqlCommand(
            """
            UPDATE callmesh.tracking_numbers SET use_kind = 'unassigned', pool_id = NULL, location_id = NULL, updated_at = now()
             WHERE tenant_id = $1 AND pool_id = $2 AND use_kind IN ('pool', 'overflow') AND NOT (number = ANY($3))
            """, connection, transaction);
        release.Parameters.Add(new() { Value = tenantId });
        release.Parameters.Add(new() { Value = poolId });
        release.Parameters.Add(new() { Value = wanted.Select(w => w.Item1).ToArray() });
        await release.ExecuteNonQueryAsync();
        await using var assign = new NpgsqlCommand(
            """
            UPDATE callmesh.tracking_numbers t SET use_kind = w.use_kind, pool_id = $2, location_id = $3, updated_at = now()
              FROM unnest($4::text[], $5::text[]) AS w(number, use_kind)
             WHERE t.number = w.number AND t.tenant_id = $1
            """, connection, transaction);
        assign.Parameters.Add(new() { Value = tenantId });
        assign.Parameters.Add(new() { Value = poolId });
        assign.Parameters.Add(new() { Value = (object?)locationId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        assign.Parameters.Add(new() { Value = wanted.Select(w => w.Item1).ToArray() });
        assign.Parameters.Add(new() { Value = wanted.Select(w => w.Item2).ToArray() });
        await assign.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        return errors;
    }

    /// <summary>
    /// Makes <paramref name="number"/> the location's static number under <paramref name="staticNumber"/>'s key,
    /// releasing the number the key held before. Returns an error when the tenant does not own the number or
    /// another use holds it; then nothing changes.
    /// </summary>
    public async Task<string?> AssignStaticAsync(string tenantId, string locationId, StaticNumber staticNumber)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var check = new NpgsqlCommand(
            "SELECT tenant_id, use_kind, pool_id, location_id, static_key FROM callmesh.tracking_numbers WHERE number = $1 FOR UPDATE",
            connection, transaction))
        {
            check.Parameters.Add(new() { Value = staticNumber.Number });
            await using var reader = await check.ExecuteReaderAsync();
            string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            if (!await reader.ReadAsync() || reader.GetString(0) != tenantId)
                return "is not a tracking number of this tenant: import it first (POST /v1/tenants/{tenant}/numbers).";
            var (use, pool, location, key) = (reader.GetString(1), S(2), S(3), S(4));
            if (use is "pool" or "overflow") return $"is used by pool '{pool}'; remove it there first.";
            if (use == "static" && (location != locationId || key != staticNumber.Key))
                return $"is static number '{key}' of location '{location}'; remove it there first.";
        }
        await using var release = new NpgsqlCommand(
            """
            UPDATE callmesh.tracking_numbers
               SET use_kind = 'unassigned', location_id = NULL, static_key = NULL, medium = NULL, label = NULL, source = NULL, campaign = NULL, updated_at = now()
             WHERE tenant_id = $1 AND location_id = $2 AND static_key = $3 AND use_kind = 'static' AND number <> $4
            """, connection, transaction)
        { Parameters = { new() { Value = tenantId }, new() { Value = locationId }, new() { Value = staticNumber.Key }, new() { Value = staticNumber.Number } } };
        await release.ExecuteNonQueryAsync();
        await using var assign = new NpgsqlCommand(
            """
            UPDATE callmesh.tracking_numbers
               SET use_kind = 'static', pool_id = NULL, location_id = $2, static_key = $3, medium = $4, label = $5, source = $6, campaign = $7, updated_at = now()
             WHERE number = $1
            """, connection, transaction);
        assign.Parameters.Add(new() { Value = staticNumber.Number });
        assign.Parameters.Add(new() { Value = locationId });
        assign.Parameters.Add(new() { Value = staticNumber.Key });
        assign.Parameters.Add(new() { Value = staticNumber.Medium });
        foreach (var text in new[] { staticNumber.Label, staticNumber.Source, staticNumber.Campaign })
            assign.Parameters.Add(new() { Value = (object?)text ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await assign.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        return null;
    }

    public async Task<List<StaticNumber>> ListStaticAsync(string tenantId, string locationId)
    {
        await using var command = database.CreateCommand(
            """
            SELECT static_key, number, medium, label, source, campaign FROM callmesh.tracking_numbers
             WHERE tenant_id = $1 AND location_id = $2 AND use_kind = 'static' ORDER BY static_key
            """);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = locationId });
        var numbers = new List<StaticNumber>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            numbers.Add(new StaticNumber(reader.GetString(0), reader.GetString(1), reader.GetString(2), S(3), S(4), S(5)));
        }
        return numbers;
    }
}
