using CallMesh.Silo.Database;
using Npgsql;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// The login test silos connect with, as `./callmesh up` gives its silos: <c>callmesh_silo</c>, a member of
/// <c>callmesh_app</c> (rows, not schema: 0023_application_role.sql), never the superuser that migrates. Every process
/// test so shows the silos need no more rights than that.
/// </summary>
public static class SiloLogin
{
    public const string Role = "callmesh_silo";

    /// <summary>Migrates the database as its owner, makes the login (once per server), and gives the silos' connection string.</summary>
    public static async Task<string> PrepareAsync(string ownerConnectionString)
    {
        await Migrator.ApplyAsync(ownerConnectionString);
        var owner = new NpgsqlConnectionStringBuilder(ownerConnectionString);
        var password = owner.Password ?? "";
        await using (var connection = new NpgsqlConnection(ownerConnectionString))
        {
            await connection.OpenAsync();
            var literal = "'" + password.Replace("'", "''") + "'";
            await using var command = new NpgsqlCommand($"""
                DO $$
                BEGIN
                    CREATE ROLE {Role} LOGIN PASSWORD {literal} IN ROLE callmesh_app;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN
                    NULL;
                END
                $$
                """, connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(ownerConnectionString) { Username = Role, Password = password }.ConnectionString;
    }
}
