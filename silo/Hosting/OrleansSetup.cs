using System.Net;
using CallMesh.Silo.Database;
using CallMesh.Telemetry;
using Orleans.Configuration;

namespace CallMesh.Silo.Hosting;

public static class OrleansSetup
{
    public const string StorageName = "callmesh";

    /// <summary>Clustering through PostgreSQL plus our endpoints and membership tuning.</summary>
    public static ISiloBuilder UseCallMeshCluster(this ISiloBuilder silo, SiloSettings settings, IConfiguration configuration)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = settings.ClusterId;
            o.ServiceId = settings.ServiceId;
        });
        // Listening on the advertised address alone unless every address is asked for (a pod's IP is both).
        silo.ConfigureEndpoints(IPAddress.Parse(settings.AdvertisedIp), settings.SiloPort, settings.OrleansGatewayPort,
            listenOnAnyHostAddress: settings.ListenAddress is null);
        if (settings.SiloName is { } name)
        {
            silo.Configure<SiloOptions>(o => o.SiloName = name);
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, PredecessorCleanup>();
        }
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = settings.OrleansConnectionString;
        });
        // How fast a dead silo is noticed (appsettings "MEMBERSHIP" / CALLMESH_MEMBERSHIP__PROBETIMEOUT ...).
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("MEMBERSHIP"));
        // The collector deactivates, all at once, every activation whose idle time ran out in the last quantum. With
        // Orleans' default quantum of a minute, a minute's new visitors went at once (66,076 after a bench run: 2.4 s of
        // the silo's CPU on more than a core), and DNI answers waited behind them. A quantum of a second spreads the
        // same work in sixty smaller pieces.
        silo.Configure<GrainCollectionOptions>(o => o.CollectionQuantum = TimeSpan.FromSeconds(1));
        // Grain calls carry the trace of the request that made them (only when traces are exported: it costs a filter per call).
        if (TelemetrySetup.TracingEnabled(configuration)) silo.AddActivityPropagation();
        // In a pod: the silo names itself after its pod, and a silo whose pod is gone is declared dead at once instead of
        // after missed probes (k8s/README.md). Needs the pod's service account with the Role in k8s/base/rbac.yaml.
        if (RunsInKubernetes(configuration)) silo.UseKubernetesHosting();
        // Any pod that reaches a silo port could otherwise call grains as a silo; in a pod, TLS is not optional.
        if (settings.TlsDirectory is { } tls) silo.UseCallMeshTls(tls);
        else if (RunsInKubernetes(configuration))
            throw new InvalidOperationException("Set CALLMESH_SILO_TLS_DIR to the mounted silo certificate (k8s/README.md: silo TLS).");
        return silo.AddCallMeshStorage(settings.Postgres);
    }

    /// <summary>Inside a Kubernetes pod (its API's address is in the environment), unless CALLMESH_KUBERNETES_HOSTING=false.</summary>
    public static bool RunsInKubernetes(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["KUBERNETES_SERVICE_HOST"]) && configuration.GetValue("KUBERNETES_HOSTING", true);

    /// <summary>Grain state in PostgreSQL as type-name-free JSON (see <see cref="JsonGrainStateSerializer"/>).</summary>
    public static ISiloBuilder AddCallMeshStorage(this ISiloBuilder silo, string postgres) =>
        silo.AddAdoNetGrainStorage(StorageName, o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = SiloSettings.WithSearchPath(postgres, "orleans");
            o.GrainStorageSerializer = new JsonGrainStateSerializer();
        });
}
