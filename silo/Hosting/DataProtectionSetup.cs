using CallMesh.Common;
using CallMesh.Silo.Database;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Npgsql;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// Sealed secrets at rest (<see cref="SealedSecrets"/>): Data Protection's key ring in PostgreSQL, each key encrypted with
/// the certificate of CALLMESH_DATA_PROTECTION_DIR (tls.crt/tls.key, RSA), which only the silos hold. Without one the keys
/// are stored in the clear beside what they seal (tests in one process); in a pod the silo refuses to start.
/// </summary>
public static class DataProtectionSetup
{
    public static IServiceCollection AddCallMeshDataProtection(this IServiceCollection services, SiloSettings settings, IConfiguration configuration)
    {
        var protection = services.AddDataProtection().SetApplicationName("callmesh");
        services.AddOptions<KeyManagementOptions>().Configure<NpgsqlDataSource>((o, database) => o.XmlRepository = new PostgresKeyRepository(database));
        if (settings.DataProtectionDirectory is { } directory)
        {
            var certificate = Certificates.Load(directory);
            protection.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
        }
        else if (OrleansSetup.RunsInKubernetes(configuration))
            throw new InvalidOperationException("Set CALLMESH_DATA_PROTECTION_DIR to the mounted key-ring certificate (k8s/README.md).");
        services.AddSingleton<SealedSecrets>();
        services.AddHostedService<SealStoredSecrets>();
        return services;
    }
}
