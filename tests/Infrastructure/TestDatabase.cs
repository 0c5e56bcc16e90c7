using CallMesh.Silo.Database;
using Npgsql;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// A fresh PostgreSQL database with CallMesh's migrations applied, on the private server that
/// `./callmesh test` starts (CALLMESH_TEST_POSTGRES). Each test class gets its own database.
/// </summary>
public sealed class TestDatabase : IAsyncLifetime
{
    private readonly bool _migrate;

    public TestDatabase() : this(migrate: true) { }

    private TestDatabase(bool migrate) => _migrate = migrate;

    /// <summary>An empty database, for the migrator's own tests.</summary>
    public static TestDatabase WithoutMigrations() => new(migrate: false);

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("CALLMESH_TEST_POSTGRES")
        ?? throw new InvalidOperationException("CALLMESH_TEST_POSTGRES is not set: run the tests with ./callmesh test.");

    public string Name { get; } = $"t_{Guid.NewGuid():N}"[..20];

    public string ConnectionString =>
        new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = Name }.ConnectionString;

    public async Task InitializeAsync()
    {
        await ExecuteOnServer($"CREATE DATABASE {Name}");
        if (_migrate) await Migrator.ApplyAsync(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServer($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }

    public async Task<T?> Scalar<T>(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters) command.Parameters.AddWithValue(p);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T));
    }

    private static async Task ExecuteOnServer(string sql)
    {
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
