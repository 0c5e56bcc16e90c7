using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;

namespace CallMesh.Gateway.Proxy;

/// <summary>
/// The gateway's routes are part of the product, so they are code; only the silo addresses
/// come from configuration: CALLMESH_SILOS="http://127.0.0.1:5101,http://127.0.0.1:5102", or on
/// Kubernetes the headless Service ("http://callmesh-silo:8080") with CALLMESH_SILOS_DNS=true,
/// which resolves it to one destination per pod.
/// </summary>
public static class ProxyConfig
{
    public const string SiloCluster = "silos";
    public const string UserApiPolicy = "user-api";

    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        // Tenant APIs need a user token; the silo checks the token's scope again.
        new() { RouteId = "tenant-api", ClusterId = SiloCluster, Order = 1, AuthorizationPolicy = UserApiPolicy,
                Match = new RouteMatch { Path = "/v1/tenants/{**rest}" } },
        // DNI and carrier webhooks are anonymous here: site keys and carrier signatures guard them in the silo.
        new() { RouteId = "public-api", ClusterId = SiloCluster, Order = 2, Match = new RouteMatch { Path = "/v1/{**rest}" } },
        new() { RouteId = "openapi", ClusterId = SiloCluster, Order = 3, Match = new RouteMatch { Path = "/openapi/{**rest}" } },
    ];

    public static ClusterConfig SiloClusterFrom(IConfiguration configuration)
    {
        var silos = (configuration["SILOS"] ?? "http://127.0.0.1:5100")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new ClusterConfig
        {
            ClusterId = SiloCluster,
            Destinations = silos.Select((address, i) => (address, i))
                .ToDictionary(d => $"silo-{d.i + 1}", d => new DestinationConfig { Address = d.address }),
            HealthCheck = new HealthCheckConfig
            {
                // A silo that stops answering /health/ready (or is not an Active member yet) leaves the rotation...
                Active = new ActiveHealthCheckConfig
                {
                    Enabled = true,
                    Interval = TimeSpan.FromSeconds(2),
                    Timeout = TimeSpan.FromSeconds(2),
                    Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
                    Path = "/health/ready",
                },
                // ...and one that refuses connections leaves it at once, before the next probe.
                Passive = new PassiveHealthCheckConfig
                {
                    Enabled = true,
                    Policy = HealthCheckConstants.PassivePolicy.TransportFailureRate,
                    ReactivationPeriod = TimeSpan.FromSeconds(10),
                },
            },
            Metadata = new Dictionary<string, string>
            {
                ["ConsecutiveFailuresHealthPolicy.Threshold"] = "1",
                ["TransportFailureRateHealthPolicy.MinimalTotalCountThreshold"] = "1",
                ["TransportFailureRateHealthPolicy.RateLimit"] = "0.1",
            },
            HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromSeconds(30) },
        };
    }
}
