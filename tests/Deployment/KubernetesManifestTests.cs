using System.Text.Json;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Deployment;

/// <summary>
/// The checker's packages (tests/Deployment/k8s/package.json, pinned) installed once: in CALLMESH_K8S_TOOLS when set, else
/// in .callmesh/tools/k8s-checks of the checkout.
/// </summary>
public sealed class ManifestTools : IAsyncLifetime
{
    public string Directory { get; } = Environment.GetEnvironmentVariable("CALLMESH_K8S_TOOLS")
                                       ?? Path.Combine(Repo.Root, ".callmesh", "tools", "k8s-checks");

    public Task InitializeAsync() => NpmPackages.InstallAsync(Path.Combine(Repo.Root, "tests", "Deployment", "k8s", "package.json"), Directory,
        "kubernetes-models");

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>
/// Every overlay renders with kustomize (`kubectl kustomize`, offline), every object validates against the Kubernetes
/// schemas, and the policies hold (tests/Deployment/k8s/check-manifests.mjs); each policy check is shown to fail.
/// </summary>
public sealed class KubernetesManifestTests(ManifestTools tools) : IClassFixture<ManifestTools>
{
    private static readonly string Checker = Path.Combine(Repo.Root, "tests", "Deployment", "k8s", "check-manifests.mjs");

    [Theory]
    [InlineData("dev")]
    [InlineData("production")]
    public async Task Each_overlay_renders_validates_and_meets_the_policies(string overlay)
    {
        var (exit, result) = await CheckAsync(overlay);
        Assert.True(exit == 0, result.GetRawText());
        var kinds = result.GetProperty("kinds");
        foreach (var kind in new[] { "StatefulSet", "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Role", "RoleBinding" })
            Assert.True(kinds.TryGetProperty(kind, out _), $"{overlay} renders no {kind}");
        var rendered = await RenderAsync(overlay);
        if (overlay == "production")
        {
            Assert.True(kinds.TryGetProperty("PrometheusRule", out _));
            Assert.True(kinds.TryGetProperty("PodMonitor", out _));
            // HTTPS at the gateway, from cert-manager's Secret (docs/security.md#in-transit).
            Assert.Contains("secretName: callmesh-gateway-tls", rendered);
            Assert.Contains("name: CALLMESH_TLS_DIR", rendered);
        }
        // Silo-to-silo TLS and the key ring's certificate, both from Secrets (a silo in a pod refuses to start without them).
        foreach (var secret in new[] { "callmesh-silo-tls", "callmesh-data-protection" })
            Assert.Contains($"secretName: {secret}", rendered);
        // Orleans' Kubernetes hosting: pod identity from the downward API, the labels it finds its silos by.
        foreach (var text in new[] { "name: POD_NAME", "name: POD_NAMESPACE", "name: POD_IP", "orleans/serviceId: callmesh", "orleans/clusterId: callmesh",
                     "serviceAccountName: callmesh-silo", "args:\n        - migrate" })
            Assert.Contains(text, rendered);
        Assert.DoesNotContain(":latest", rendered);
    }

    [Theory]
    [InlineData("StatefulSet/callmesh-silo:spec.template.spec.containers.0.securityContext", "container silo: readOnlyRootFilesystem is not true")]
    [InlineData("StatefulSet/callmesh-silo:spec.template.spec.securityContext", "pod securityContext.runAsNonRoot is not true")]
    [InlineData("Deployment/callmesh-gateway:spec.template.spec.containers.0.readinessProbe", "container gateway: no readinessProbe")]
    [InlineData("StatefulSet/callmesh-silo:spec.template.spec.containers.0.startupProbe", "container silo: no startupProbe")]
    [InlineData("Deployment/callmesh-gateway:spec.template.spec.containers.0.resources.limits", "container gateway: no memory limits")]
    [InlineData("StatefulSet/callmesh-silo:spec.template.spec.initContainers.0.resources", "container migrate: no cpu requests")]
    [InlineData("PodDisruptionBudget/callmesh-silo", "StatefulSet/callmesh-silo: no PodDisruptionBudget selects its pods")]
    [InlineData("NetworkPolicy/callmesh-gateway", "Deployment/callmesh-gateway: no NetworkPolicy of its own")]
    [InlineData("NetworkPolicy/default-deny", "no default-deny NetworkPolicy")]
    [InlineData("StatefulSet/callmesh-silo:spec.template.spec.containers.0.volumeMounts.1",
        "container silo: CALLMESH_SILO_TLS_DIR (/etc/callmesh/silo-tls) is not a mounted Secret")]
    [InlineData("StatefulSet/callmesh-silo:spec.selector", "schema: data/spec must have required property selector")]
    [InlineData("HorizontalPodAutoscaler/callmesh-silo:spec.scaleTargetRef.name", "schema: data/spec/scaleTargetRef must have required property")]
    public async Task Each_check_fails_a_manifest_that_breaks_it(string drop, string error)
    {
        var (exit, result) = await CheckAsync("production", drop);
        Assert.Equal(1, exit);
        var errors = result.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains(errors, e => e.Contains(error));
    }

    [Theory]
    [InlineData("/ sum by (tenant, pool) (rate(callmesh_dni_leases_total[15m])) > 0.05", "/ sum by (tenant, pool) (rate(callmesh_dni_leases_total[15m])) > > 0.05",
        "PrometheusRule/callmesh CallMeshPoolExhausted: PromQL does not parse")]
    [InlineData("sum by (result) (rate(callmesh_dni_leases_total[5m]))", "sum by (result (rate(callmesh_dni_leases_total[5m]))",
        "ConfigMap/callmesh-grafana-dashboard callmesh.json \"DNI sessions by result\": PromQL does not parse")]
    public async Task An_alert_or_panel_whose_query_does_not_parse_fails(string query, string broken, string error)
    {
        var (exit, result) = await CheckAsync("production", rendered =>
        {
            Assert.Contains(query, rendered);
            return rendered.Replace(query, broken);
        });
        Assert.Equal(1, exit);
        Assert.Contains(result.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!), e => e.StartsWith(error));
    }

    [Fact]
    public async Task The_dashboard_is_JSON_and_the_alerts_cover_what_operators_watch()
    {
        var monitoring = Path.Combine(Repo.Root, "k8s", "components", "monitoring");
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(monitoring, "grafana-dashboard.json"))).RootElement;
        Assert.True(dashboard.GetProperty("panels").GetArrayLength() >= 10);
        var rules = await File.ReadAllTextAsync(Path.Combine(monitoring, "prometheus-rules.yaml"));
        foreach (var alert in new[] { "CallMeshPoolExhausted", "CallMeshWebhookAnswerSlow", "CallMeshCallJournalBacklog", "CallMeshOutboxBacklog", "CallMeshSilosDown" })
            Assert.Contains($"alert: {alert}", rules);
    }

    private Task<(int Exit, JsonElement Result)> CheckAsync(string overlay, params string[] drops) => CheckAsync(overlay, r => r, drops);

    private async Task<(int Exit, JsonElement Result)> CheckAsync(string overlay, Func<string, string> edit, params string[] drops)
    {
        var rendered = edit(await RenderAsync(overlay));
        var arguments = new List<string> { Checker };
        foreach (var drop in drops) arguments.AddRange(["--drop", drop]);
        var (exit, output, error) = await Processes.RunAsync("node", arguments, Repo.Root, rendered, ("CALLMESH_K8S_TOOLS", tools.Directory));
        Assert.True(output.TrimStart().StartsWith('{'), $"the checker failed: {error}");
        return (exit, JsonDocument.Parse(output).RootElement);
    }

    internal static async Task<string> RenderAsync(string overlay)
    {
        var (exit, output, error) = await Processes.RunAsync("kubectl", ["kustomize", Path.Combine(Repo.Root, "k8s", "overlays", overlay)], Repo.Root);
        Assert.True(exit == 0, $"kubectl kustomize {overlay} failed (kubectl with kustomize is needed: it ships on this machine image): {error}");
        return output;
    }
}
