using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>Process tests start real silos; they run one class at a time so two clusters never compete for 2 cores.</summary>
[CollectionDefinition(Name)]
public sealed class ProcessTests
{
    public const string Name = "process clusters";
}

/// <summary>Two silo processes and the gateway on a fresh database, seeded with the demo brand through the API.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();
    public ProcessCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        Cluster = await ProcessCluster.StartAsync(Database.ConnectionString, silos: 2);
        await DemoSeeder.SeedAsync(Cluster.Http, Cluster.SigningKeyHex, Repo.DemoBrandFile);
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Database.DisposeAsync();
    }
}
