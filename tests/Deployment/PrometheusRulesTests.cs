using System.Text.Json;
using System.Text.RegularExpressions;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Deployment;

/// <summary>
/// The shipped alerts, as kustomize renders them, load in Prometheus (`promtool check rules`) and behave as their unit
/// tests say (`promtool test rules`, tests/Deployment/k8s/alerts.test.yaml: each alert fires on the series it is for
/// and stays quiet on healthy ones). ObservabilityTests evaluates them again against the services' real metrics.
/// </summary>
public sealed class PrometheusRulesTests(ManifestTools tools) : IClassFixture<ManifestTools>
{
    private static readonly string UnitTests = Path.Combine(Repo.Root, "tests", "Deployment", "k8s", "alerts.test.yaml");

    [Fact]
    public async Task The_alerts_load_and_each_fires_and_stays_quiet_as_its_unit_tests_say()
    {
        var rules = await RuleFileAsync(tools);
        var (exit, output) = await PromtoolAsync(rules);
        Assert.True(exit == 0, output);
        Assert.Contains("SUCCESS", output);

        // Every alert has a case that fires and one that stays quiet: a new alert without tests fails here.
        var tests = await File.ReadAllTextAsync(UnitTests);
        var alerts = JsonDocument.Parse(rules).RootElement.GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray()).Select(r => r.GetProperty("alert").GetString()!).ToList();
        Assert.True(alerts.Count >= 8, string.Join(", ", alerts));
        foreach (var alert in alerts)
        {
            Assert.Matches($@"alertname: {alert},[^\n]*exp_alerts: \[\]", tests);
            Assert.Matches($@"alertname: {alert}\n\s+exp_alerts:\n\s+- exp_labels", tests);
        }
    }

    [Theory]
    [InlineData("max by (pod) (callmesh_call_journal_depth) > 500", "max by (pod) (callmesh_call_journal_depth) > 5000", "CallMeshCallJournalBacklog")]
    [InlineData("[15m])) > 0.05", "[15m])) > 0.15", "CallMeshPoolExhausted")]
    [InlineData("(count(up{container=\"silo\"} == 1) or vector(0)) < 2", "count(up{container=\"silo\"} == 1) < 2", "CallMeshSilosDown")]
    [InlineData("rate(callmesh_outbound_deliveries_total{result=\"failed\"}[30m])", "rate(callmesh_outbound_deliveries_total{result=\"error\"}[30m])",
        "CallMeshDeliveriesFailing")]
    public async Task An_alert_whose_rule_changes_fails_its_unit_tests(string rule, string changed, string alert)
    {
        var rules = await RuleFileAsync(tools, rendered =>
        {
            Assert.Contains(rule, rendered);
            return rendered.Replace(rule, changed);
        });
        var (exit, output) = await PromtoolAsync(rules);
        Assert.NotEqual(0, exit);
        Assert.Matches($"FAILED:[\\s\\S]*alertname: {alert},", output);
    }

    /// <summary>The rule groups of the production overlay's PrometheusRule as a Prometheus rule file (JSON).</summary>
    internal static async Task<string> RuleFileAsync(ManifestTools tools, Func<string, string>? edit = null)
    {
        var rendered = await KubernetesManifestTests.RenderAsync("production");
        var (exit, output, error) = await Processes.RunAsync("node", [Path.Combine(Repo.Root, "tests", "Deployment", "k8s", "rule-groups.mjs")],
            Repo.Root, (edit ?? (r => r))(rendered), ("CALLMESH_K8S_TOOLS", tools.Directory));
        Assert.True(exit == 0, error);
        return output;
    }

    private static async Task<(int Exit, string Output)> PromtoolAsync(string rules)
    {
        var directory = Directory.CreateTempSubdirectory("callmesh-rules-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "rules.json"), rules);
            File.Copy(UnitTests, Path.Combine(directory, "alerts.test.yaml"));
            var (checkExit, checkOutput, checkError) = await Processes.RunAsync(PrometheusServer.Tool("promtool"), ["check", "rules", "rules.json"], directory);
            Assert.True(checkExit == 0, $"promtool check rules: {checkOutput}{checkError}");
            var (exit, output, error) = await Processes.RunAsync(PrometheusServer.Tool("promtool"), ["test", "rules", "alerts.test.yaml"], directory);
            return (exit, Regex.Replace(output + error, @"\s+\n", "\n"));
        }
        finally { Directory.Delete(directory, recursive: true); }
    }
}
