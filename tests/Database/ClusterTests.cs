using CallMesh.Common;
using CallMesh.Tenants;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Database;

/// <summary>A live multi-silo cluster whose membership and grain state live in our PostgreSQL schema.</summary>
public sealed class ClusterTests : IAsyncLifetime
{
    private readonly TestDatabase _db = new();
    private readonly string _serviceId = $"svc-{Guid.NewGuid():N}";

    public Task InitializeAsync() => _db.InitializeAsync();
    public Task DisposeAsync() => _db.DisposeAsync();

    private static TenantConfig Tenant(string name) => new(name, "America/Chicago", "USD", null);

    [Fact]
    public async Task Silos_join_through_postgres_and_a_killed_silo_is_declared_dead_while_calls_go_on()
    {
        await using var cluster = OrleansCluster.WithAdoNetClustering(_db.ConnectionString, silos: 3, _serviceId);
        await cluster.DeployAsync();
        var clusterId = cluster.Options.ClusterId;

        Assert.Equal(3, await _db.Scalar<long>(
            "SELECT count(*) FROM orleans.membership_member WHERE deployment_id = $1 AND status = 3", clusterId));
        for (var i = 0; i < 20; i++)
            Assert.Equal(SaveOutcome.Created, (await cluster.Client.GetGrain<ITenantGrain>($"t{i}").Put(Tenant($"T{i}"))).Outcome);

        var victim = cluster.SecondarySilos[0];
        await cluster.KillSiloAsync(victim);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await _db.Scalar<long>(
                   "SELECT count(*) FROM orleans.membership_member WHERE deployment_id = $1 AND port = $2 AND status = 6 AND suspect_times IS NOT NULL",
                   clusterId, victim.SiloAddress.Endpoint.Port) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the killed silo was not declared dead within 30 s");
            await Task.Delay(250);
        }
        // Every tenant, including those whose grains lived on the dead silo, still answers with its state.
        for (var i = 0; i < 20; i++)
            Assert.Equal($"T{i}", (await cluster.Client.GetGrain<ITenantGrain>($"t{i}").Get())!.Config.Name);
    }

    [Fact]
    public async Task Grain_state_survives_a_full_cluster_restart()
    {
        await using (var first = OrleansCluster.WithAdoNetClustering(_db.ConnectionString, silos: 2, _serviceId))
        {
            await first.DeployAsync();
            await first.Client.GetGrain<ITenantGrain>("acme").Put(Tenant("Acme Plumbing"));
            await first.Client.GetGrain<ITenantGrain>("acme").IndexLocation(new LocationIndexEntry("austin", "central-tx", "+15125550101"));
            await first.StopAllSilosAsync();
        }

        await using var second = OrleansCluster.WithAdoNetClustering(_db.ConnectionString, silos: 2, _serviceId);
        await second.DeployAsync();
        var tenant = second.Client.GetGrain<ITenantGrain>("acme");

        Assert.Equal("Acme Plumbing", (await tenant.Get())!.Config.Name);
        Assert.Equal([new LocationIndexEntry("austin", "central-tx", "+15125550101")], await tenant.ListLocations());
    }
}
