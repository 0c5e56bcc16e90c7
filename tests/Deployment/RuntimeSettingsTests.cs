using System.Text.Json.Nodes;
using CallMesh.Silo.Hosting;
using CallMesh.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace CallMesh.Tests.Deployment;

/// <summary>
/// The runtime settings the silo and the gateway ship with: .NET's (Directory.Build.props) and Orleans' activation
/// collection. They share a few cores with each other and PostgreSQL, and the bench measured each of these against the
/// default (docs/perf/dni.md).
/// </summary>
public class RuntimeSettingsTests
{
    public static TheoryData<string> Services => new() { Repo.SiloDll, Repo.GatewayDll };

    [Theory]
    [MemberData(nameof(Services))]
    public void A_service_runs_background_workstation_GC_and_its_idle_workers_do_not_spin(string dll)
    {
        var options = RuntimeOptions(dll);

        Assert.False(options["System.GC.Server"]!.GetValue<bool>());
        Assert.True(options["System.GC.Concurrent"]!.GetValue<bool>());
        Assert.Equal(0, options["System.Threading.ThreadPool.UnfairSemaphoreSpinLimit"]!.GetValue<int>());
    }

    /// <summary>
    /// Orleans deactivates every activation whose idle time ran out within one quantum at once. Its default quantum of a
    /// minute sent a minute of DNI visitors at once, and the silo's answers waited behind them (docs/perf/dni.md).
    /// </summary>
    [Fact]
    public void The_silo_collects_idle_activations_every_second_not_a_minute_at_a_time()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseCallMeshCluster(new SiloSettings { Postgres = "Host=not-started" }, builder.Configuration));
        using var host = builder.Build();   // built, never started: nothing connects

        var options = host.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(1), options.CollectionQuantum);
        Assert.NotEqual(GrainCollectionOptions.DEFAULT_COLLECTION_QUANTUM, options.CollectionQuantum);
    }

    /// <summary>The configProperties of the runtimeconfig.json that the service starts with.</summary>
    private static JsonObject RuntimeOptions(string dll)
    {
        var file = Path.ChangeExtension(dll, ".runtimeconfig.json");
        var config = JsonNode.Parse(File.ReadAllText(file))!;
        return config["runtimeOptions"]!["configProperties"]!.AsObject();
    }
}
