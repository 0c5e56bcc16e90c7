using CallMesh.Common;
using CallMesh.Outbound;
using CallMesh.Silo.Database;
using CallMesh.Silo.Hosting;
using CallMesh.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CallMesh.Tests.Database;

/// <summary>Sealed secrets: one key ring for every silo, and rows from before sealing sealed at a silo's start.</summary>
[Collection(CallMesh.Tests.Api.ProcessTests.Name)]
public sealed class SealedSecretsTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Silos_started_together_share_one_key_and_open_what_the_other_sealed()
    {
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 2);
        var admin = cluster.Token("bluebonnet", CallMesh.Identity.Roles.BrandAdmin);
        // Both silos' first seal at the same moment, straight to each (past the gateway).
        var accounts = Enumerable.Range(0, 2).Select(i => (Silo: i, Sid: $"AC{Guid.NewGuid():N}", Token: $"token-sealed-by-silo-{i}-0123456789")).ToList();
        await Task.WhenAll(accounts.Select(async a =>
        {
            using var silo = new HttpClient { BaseAddress = cluster.SiloUrls[a.Silo] };
            using var put = new HttpRequestMessage(HttpMethod.Put, $"/v1/tenants/bluebonnet/carriers/{a.Sid}")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { carrier = "twilio", authToken = a.Token }),
            };
            put.Headers.Authorization = new("Bearer", admin);
            (await silo.SendAsync(put)).EnsureSuccessStatusCode();
        }));
        Assert.Equal(1, await db.Scalar<long>("SELECT count(*) FROM callmesh.data_protection_keys"));

        // Each silo checks a webhook signed with the token the other sealed (the number is no one's: answered, not refused).
        foreach (var (sealer, sid, token) in accounts)
        {
            var opener = 1 - sealer;
            var form = TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), "+15125550199");
            form["AccountSid"] = sid;
            using var other = new HttpClient { BaseAddress = cluster.SiloUrls[opener] };
            using var inbound = await other.SendAsync(CallMesh.Carriers.TwilioSignature.SignedRequest(token, cluster.SiloUrls[opener], "/v1/voice/twilio/inbound", form));
            Assert.True(inbound.StatusCode == System.Net.HttpStatusCode.OK,
                $"silo {opener + 1} answered {(int)inbound.StatusCode} for a token silo {sealer + 1} sealed");
        }
    }

    [Fact]
    public void The_key_ring_is_loaded_under_the_lock_before_any_other_start_up_can_make_a_key()
    {
        // Data Protection's own hosted service loads the key ring at start (and makes a key if there is none), without a
        // lock: two silos starting together each made one there (the first test above failed about one run in ten).
        var plain = new ServiceCollection();
        plain.AddDataProtection();
        Assert.Contains(plain, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "DataProtectionHostedService");

        var services = new ServiceCollection();
        services.AddCallMeshDataProtection(new SiloSettings { Postgres = db.ConnectionString },
            new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        var hosted = services.Where(d => d.ServiceType == typeof(IHostedService)).ToList();
        Assert.Equal(typeof(KeyRingStartup), hosted[0].ImplementationType);
        Assert.DoesNotContain(hosted, d => d.ImplementationType?.Name == "DataProtectionHostedService");
    }

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
