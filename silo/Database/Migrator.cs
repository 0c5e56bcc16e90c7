using DbUp;
using DbUp.Engine;
using Npgsql;

namespace CallMesh.Silo.Database;

/// <summary>
/// Applies the embedded SQL scripts in name order, once each (DbUp journals them in
/// callmesh.schema_versions). Several silos may start at once: a session-level advisory
/// lock lets one of them migrate while the others wait, then find nothing left to do.
/// </summary>
public static class Migrator
{
    // Any constant works; it only has to be the same in every silo.
    private const long MigrationLockKey = 0x43616C6C4D657368; // "CallMesh"

    public static async Task<IReadOnlyList<string>> ApplyAsync(string connectionString, Action<string>? log = null)
    {
        await using var lockConnection = new NpgsqlConnection(connectionString);
        await lockConnection.OpenAsync();
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", lockConnection))
        {
            take.Parameters.AddWithValue("key", MigrationLockKey);
            await take.ExecuteNonQueryAsync();
        }
        try
        {
            // The journal needs its schema before DbUp looks for it.
            await using (var schema = new NpgsqlCommand("CREATE SCHEMA IF NOT EXISTS callmesh", lockConnection))
                await schema.ExecuteNonQueryAsync();

            var upgrader = DeployChanges.To
                .PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(typeof(Migrator).Assembly, name => name.EndsWith(".sql", StringComparison.Ordinal))
                .JournalToPostgresqlTable("callmesh", "schema_versions")
                // Scripts hold $fn$ / $q$ dollar-quoted bodies that DbUp would read as variables.
                .WithVariablesDisabled()
                .WithTransactionPerScript()
                // A script that rewrites a big table (years of calls or rollups) takes minutes, not DbUp's default 30 s.
                .WithExecutionTimeout(TimeSpan.FromHours(1))
                .LogToNowhere()
                .Build();

            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
                throw new InvalidOperationException($"Migration {result.ErrorScript?.Name} failed: {result.Error.Message}", result.Error);

            var applied = result.Scripts.Select(s => ShortName(s)).ToList();
            foreach (var name in applied) log?.Invoke($"applied {name}");
            return applied;
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", lockConnection);
            release.Parameters.AddWithValue("key", MigrationLockKey);
            await release.ExecuteNonQueryAsync();
        }
    }

    // "CallMesh.Silo.Database.Migrations.0001_x.sql" -> "0001_x.sql"
    private static string ShortName(SqlScript script)
    {
        var parts = script.Name.Split('.');
        return parts.Length >= 2 ? $"{parts[^2]}.{parts[^1]}" : script.Name;
    }
}
