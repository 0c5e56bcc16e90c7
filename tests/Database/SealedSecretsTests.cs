using CallMesh.Common;
using CallMesh.Outbound;
using CallMesh.Silo.Database;
using CallMesh.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CallMesh.Tests.Database;

/// <summary>Secrets written before sealing began are sealed at a silo's start, and still read as they were.</summary>
public sealed class SealedSecretsTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Clear_carrier_tokens_and_destination_credentials_are_sealed_at_start_and_read_the_same()
    {
        await using var database = NpgsqlDataSource.Create(db.ConnectionString);
        await using (var insert = database.CreateCommand(
            """
            INSERT INTO callmesh.carrier_accounts (account_sid, tenant_id, carrier, auth_token) VALUES ('ACclear', 't1', 'twilio', 'clear-token-0123456789');
            INSERT INTO callmesh.destinations (tenant_id, destination_id, kind, name, events, credentials)
            VALUES ('t1', 'dst_clear', 'webhook', 'old', '{call.started}', '{"secrets": [{"secret": "whsec_clear"}]}');
            """))
            await insert.ExecuteNonQueryAsync();
        var secrets = new SealedSecrets(new EphemeralDataProtectionProvider());

        var seal = new SealStoredSecrets(database, secrets, NullLogger<SealStoredSecrets>.Instance);
        await seal.StartAsync(CancellationToken.None);
        await seal.ExecuteTask!;

        var token = await db.Scalar<string>("SELECT auth_token FROM callmesh.carrier_accounts WHERE account_sid = 'ACclear'");
        Assert.StartsWith(SealedSecrets.Prefix, token);
        Assert.Equal("clear-token-0123456789", secrets.Open(token!));
        var credentials = await db.Scalar<string>("SELECT credentials::text FROM callmesh.destinations WHERE destination_id = 'dst_clear'");
        Assert.DoesNotContain("whsec_clear", credentials);
        var destination = await new DestinationStore(database, secrets).GetAsync("dst_clear");
        Assert.Equal("whsec_clear", Assert.Single(destination!.Credentials.Secrets!).Secret);

        // Once sealed, nothing is left to seal: a second start changes no row.
        var again = new SealStoredSecrets(database, secrets, NullLogger<SealStoredSecrets>.Instance);
        await again.StartAsync(CancellationToken.None);
        await again.ExecuteTask!;
        Assert.Equal(token, await db.Scalar<string>("SELECT auth_token FROM callmesh.carrier_accounts WHERE account_sid = 'ACclear'"));
    }
}
