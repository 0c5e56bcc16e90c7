using CallMesh.Tests.Infrastructure;
using Npgsql;

namespace CallMesh.Tests.Deployment;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class PrivatePostgresTests
{
    /// <summary>
    /// A clone in a directory only its owner may enter (mktemp -d makes 0700): as root, PostgreSQL runs as its own user,
    /// which cannot walk that path, so initdb and pg_ctl must be given a data directory it can reach.
    /// </summary>
    [Fact]
    public async Task The_script_starts_its_PostgreSQL_from_a_checkout_others_cannot_enter()
    {
        var home = Directory.CreateTempSubdirectory("callmesh-private-");
        try
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(home.FullName));
            var checkout = Directory.CreateDirectory(Path.Combine(home.FullName, "callmesh")).FullName;
            File.Copy(Path.Combine(Repo.Root, "callmesh"), Path.Combine(checkout, "callmesh"));

            await using (var server = await PrivatePostgres.StartAsync(Path.Combine(checkout, "callmesh"), migrate: false))
            {
                await using var connection = new NpgsqlConnection(server.ConnectionString);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT current_user", connection);
                Assert.Equal("callmesh", await command.ExecuteScalarAsync());
                // Started again while running: the script finds it running and answers the same server.
                var again = server.ConnectionString;
                await server.StartAsync();
                Assert.Equal(again, server.ConnectionString);
                // Its password is the owner's alone, whatever the umask the script was started with.
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite,
                    File.GetUnixFileMode(Path.Combine(checkout, ".callmesh", $"{server.Name}.password")));
            }
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    /// <summary>
    /// glibc hands a backend's freed heap back to the kernel once 128 kB of it sit at the top, and the next statement faults
    /// the pages in again: the script's PostgreSQL keeps up to 32 MB a backend (docs/perf/inbound.md).
    /// </summary>
    [Fact]
    public async Task The_scripts_PostgreSQL_keeps_its_backends_freed_heap()
    {
        await using var server = await PrivatePostgres.StartAsync(migrate: false);
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SHOW data_directory", connection);
        var dataDirectory = (string)(await command.ExecuteScalarAsync())!;
        var postmaster = File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First();

        var environment = File.ReadAllText($"/proc/{postmaster}/environ").Split('\0');

        Assert.Contains("MALLOC_TRIM_THRESHOLD_=33554432", environment);
        Assert.Contains("MALLOC_TOP_PAD_=4194304", environment);
    }
}
