using CallMesh.Silo.Database;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Database;

public sealed class MigrationTests : IAsyncLifetime
{
    private readonly TestDatabase _db = TestDatabase.WithoutMigrations();

    public Task InitializeAsync() => _db.InitializeAsync();
    public Task DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task Silos_starting_together_apply_each_script_exactly_once()
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Migrator.ApplyAsync(_db.ConnectionString))));

        var applied = runs.SelectMany(r => r).ToList();
        Assert.Contains("0001_orleans_clustering.sql", applied);
        Assert.Equal(applied.Count, applied.Distinct().Count());
        Assert.Equal(applied.Count, await _db.Scalar<long>("SELECT count(*) FROM callmesh.schema_versions"));
        Assert.Equal(14, await _db.Scalar<long>("SELECT count(*) FROM orleans.orleansquery")); // 10 clustering + 4 storage keys
    }

    [Fact]
    public async Task Rerunning_applies_nothing()
    {
        var first = await Migrator.ApplyAsync(_db.ConnectionString);
        var second = await Migrator.ApplyAsync(_db.ConnectionString);

        Assert.NotEmpty(first);
        Assert.Empty(second);
    }

    [Fact]
    public async Task The_silos_login_reads_and_writes_rows_but_cannot_change_the_schema()
    {
        var silo = await SiloLogin.PrepareAsync(_db.ConnectionString);
        await using var connection = new Npgsql.NpgsqlConnection(silo);
        await connection.OpenAsync();
        async Task<string?> Refusal(string sql)
        {
            try
            {
                await using var command = new Npgsql.NpgsqlCommand(sql, connection);
                await command.ExecuteNonQueryAsync();
                return null;
            }
            catch (Npgsql.PostgresException e) { return e.SqlState; }
        }

        // Rows: yes (a blocked caller, written and deleted as the API does).
        Assert.Null(await Refusal("INSERT INTO callmesh.blocked_callers (tenant_id, caller) VALUES ('t', '+15125550100')"));
        Assert.Null(await Refusal("DELETE FROM callmesh.blocked_callers WHERE tenant_id = 't'"));
        // Schema, the migration journal, other partitions' tables: no (42501 insufficient_privilege, or 42501 as not owner).
        Assert.Equal("42501", await Refusal("CREATE TABLE callmesh.intruder (i int)"));
        Assert.Equal("42501", await Refusal("DROP TABLE callmesh.calls_default"));
        Assert.Equal("42501", await Refusal("ALTER TABLE callmesh.calls ADD COLUMN intruder int"));
        Assert.Equal("42501", await Refusal("TRUNCATE callmesh.blocked_callers"));
        Assert.Equal("42501", await Refusal("DELETE FROM callmesh.schema_versions"));
        Assert.Equal("42501", await Refusal("CREATE FUNCTION callmesh.intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'"));
        // The one schema change it may ask for drops monthly call partitions only.
        Assert.Equal("22023", await Refusal("SELECT callmesh.drop_call_partition('blocked_callers')"));
        Assert.False(await _db.Scalar<bool>("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'callmesh_silo'"));
    }

    [Fact]
    public async Task Verifying_a_carrier_account_does_not_make_the_silos_reload_their_routing_copy_and_changing_its_token_does()
    {
        await Migrator.ApplyAsync(_db.ConnectionString);
        async Task<long> Version() => (await _db.Scalar<long>("SELECT nextval('callmesh.routing_version')"));
        await _db.Scalar<int>("INSERT INTO callmesh.carrier_accounts (account_sid, tenant_id, carrier, auth_token) VALUES ('ACx', 't', 'twilio', 'token-0123456789abcdef') RETURNING 1");
        var before = await Version();
        await _db.Scalar<int>("UPDATE callmesh.carrier_accounts SET verified_at = now() WHERE account_sid = 'ACx' RETURNING 1");
        Assert.Equal(before + 1, await Version());   // only this test's own nextval moved it
        await _db.Scalar<int>("UPDATE callmesh.carrier_accounts SET auth_token = 'another-token-0123456' WHERE account_sid = 'ACx' RETURNING 1");
        Assert.Equal(before + 3, await Version());   // the trigger's nextval, then this one
    }

    [Fact]
    public async Task A_calls_answer_and_end_update_its_row_in_place_without_touching_an_index()
    {
        await Migrator.ApplyAsync(_db.ConnectionString);
        await using var connection = new Npgsql.NpgsqlConnection(_db.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        async Task<object?> Run(string sql)
        {
            await using var command = new Npgsql.NpgsqlCommand(sql, connection, transaction);
            return await command.ExecuteScalarAsync();
        }
        await Run("""
            INSERT INTO callmesh.calls (call_id, tenant_id, location_id, account_sid, tracking_number, number_kind, caller, started_at, status,
                                        route, routing, source, medium, first_time, first_time_location, within_hours, local_day, match)
            VALUES ('CA1', 't', 'austin', 'AC1', '+15125550100', 'static', '+14155550142', now(), 'ringing', 'open', '{}', 'google', 'cpc',
                    true, true, true, current_date, 'static')
            """);
        // The dial's result (answered, ended), then the caller's end: what every call's row goes through in its first seconds.
        await Run("UPDATE callmesh.calls SET answered = true, talk_seconds = 54, ended_at = started_at + interval '54 s', revision = 2 WHERE call_id = 'CA1'");
        await Run("UPDATE callmesh.calls SET status = 'completed', duration_seconds = 64, ended_at = started_at + interval '64 s', revision = 3 WHERE call_id = 'CA1'");
        var partition = await Run("SELECT tableoid FROM callmesh.calls WHERE call_id = 'CA1'");
        Assert.Equal(2L, await Run($"SELECT pg_stat_get_xact_tuples_hot_updated({partition})"));
        // A missed call does join the call-back list's index (its one non-HOT update).
        await Run("UPDATE callmesh.calls SET answered = false, talk_seconds = 0 WHERE call_id = 'CA1'");
        Assert.Equal(true, await Run("SELECT awaits_call_back FROM callmesh.calls WHERE call_id = 'CA1'"));
    }

    [Fact]
    public async Task The_calls_key_leads_with_their_start_in_every_partition()
    {
        await Migrator.ApplyAsync(_db.ConnectionString);
        await using var connection = new Npgsql.NpgsqlConnection(_db.ConnectionString);
        await connection.OpenAsync();
        // A random call id first sent each new call to a random page of a key the size of the month's calls
        // (docs/perf/inbound.md); led by the start, new calls append. Partitions made later inherit it.
        await using (var create = new Npgsql.NpgsqlCommand("SELECT callmesh.ensure_call_partitions('2031-01-01', '2031-02-01')", connection))
            await create.ExecuteScalarAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            """
            SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
              JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
             WHERE h.inhparent = 'callmesh.calls'::regclass
            """, connection);
        var keys = new Dictionary<string, string>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) keys[reader.GetString(0)] = reader.GetString(1);
        Assert.Contains("calls_2031_01", keys.Keys);
        Assert.All(keys.Values, definition => Assert.EndsWith("USING btree (started_at, call_id)", definition));
    }
}
