using CallMesh.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// Orleans test clusters on a real PostgreSQL test database: grain state always goes through
/// our ADO.NET schema; <see cref="WithAdoNetClustering"/> puts membership there too.
/// </summary>
public static class OrleansCluster
{
    /// <summary>Grain-logic tests: in-process silos with test membership and real storage.</summary>
    public static InProcessTestCluster InProcess(string postgres, int silos = 1)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddCallMeshStorage(postgres);
            silo.Services.AddCallMeshData(postgres);
        });
        return builder.Build();
    }

    /// <summary>Membership through our PostgreSQL schema, tuned to declare a killed silo dead in seconds.</summary>
    public static TestCluster WithAdoNetClustering(string postgres, int silos, string serviceId)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ServiceId = serviceId;
        builder.Properties[PostgresKey] = postgres;
        builder.AddSiloBuilderConfigurator<AdoNetSilo>();
        builder.AddClientBuilderConfigurator<AdoNetClient>();
        return builder.Build();
    }

    private const string PostgresKey = "CallMeshTestPostgres";

    private sealed class AdoNetSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var postgres = silo.Configuration[PostgresKey]!;
            silo.AddCallMeshStorage(postgres);
            silo.Services.AddCallMeshData(postgres);
            silo.UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = SiloSettings.WithSearchPath(postgres, "orleans"); });
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            });
        }
    }

    private sealed class AdoNetClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder client) =>
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = SiloSettings.WithSearchPath(configuration[PostgresKey]!, "orleans");
            });
    }
}

/// <summary>One silo with real PostgreSQL storage, shared by the grain tests of a class.</summary>
public sealed class GrainClusterFixture : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IGrainFactory Grains => Cluster.Client;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        Cluster = OrleansCluster.InProcess(Database.ConnectionString);
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Database.DisposeAsync();
    }
}
