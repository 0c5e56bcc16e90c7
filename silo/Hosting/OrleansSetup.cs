using System.Net;
using CallMesh.Silo.Database;
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
        silo.ConfigureEndpoints(IPAddress.Parse(settings.AdvertisedIp), settings.SiloPort, settings.OrleansGatewayPort,
            listenOnAnyHostAddress: true);
        if (settings.SiloName is { } name) silo.Configure<SiloOptions>(o => o.SiloName = name);
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = settings.OrleansConnectionString;
        });
        // How fast a dead silo is noticed (appsettings "MEMBERSHIP" / CALLMESH_MEMBERSHIP__PROBETIMEOUT ...).
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("MEMBERSHIP"));
        return silo.AddCallMeshStorage(settings.Postgres);
    }

    /// <summary>Grain state in PostgreSQL as type-name-free JSON (see <see cref="JsonGrainStateSerializer"/>).</summary>
    public static ISiloBuilder AddCallMeshStorage(this ISiloBuilder silo, string postgres) =>
        silo.AddAdoNetGrainStorage(StorageName, o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = SiloSettings.WithSearchPath(postgres, "orleans");
            o.GrainStorageSerializer = new JsonGrainStateSerializer();
        });
}
