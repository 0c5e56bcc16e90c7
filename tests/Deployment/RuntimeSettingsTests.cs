using System.Text.Json.Nodes;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Deployment;

/// <summary>
/// The runtime settings the silo and the gateway ship with (Directory.Build.props). They share a few cores with each
/// other and PostgreSQL, and the bench measured each of these against .NET's default (bench/README.md).
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

    /// <summary>The configProperties of the runtimeconfig.json that the service starts with.</summary>
    private static JsonObject RuntimeOptions(string dll)
    {
        var file = Path.ChangeExtension(dll, ".runtimeconfig.json");
        var config = JsonNode.Parse(File.ReadAllText(file))!;
        return config["runtimeOptions"]!["configProperties"]!.AsObject();
    }
}
