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
        // Data Protection's own hosted service (DataProtectionHostedService) loads the key ring at start too, without our
        // lock: two silos starting together each made a key there. Ours, under the lock, runs first, and theirs is taken
        // out (were it added again later, it would run after ours and find the key).
        services.AddHostedService<KeyRingStartup>();
        var protection = services.AddDataProtection().SetApplicationName("callmesh");
        foreach (var eager in services.Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "DataProtectionHostedService").ToList())
            services.Remove(eager);
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

/// <summary>
/// Before the silo serves: loads the key ring, making its first key if there is none, under a PostgreSQL advisory lock.
/// Silos started together would otherwise each make a key of their own at their first seal, and a silo cannot open what
/// another sealed with a key it has not loaded (Data Protection reads the ring again only once a day). With the lock, the
/// first silo makes the key and the others load it. It is registered before Orleans, so it runs before this silo hosts a
/// grain (a grain placed here by another silo could otherwise seal first, with a key of its own). With the database
/// away, the silo starts anyway and says so.
/// </summary>
public sealed class KeyRingStartup(NpgsqlDataSource database, IDataProtectionProvider provider, ILogger<KeyRingStartup> logger) : IHostedService
{
    private const long LockKey = 0x43616C6C4B657973;   // "CallKeys"

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await using var connection = await database.OpenConnectionAsync(timeout.Token);
            await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({LockKey})", connection))
                await take.ExecuteNonQueryAsync(timeout.Token);
            try
            {
                provider.CreateProtector("CallMesh.KeyRingStartup").Protect([1]);
            }
            finally
            {
                await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", connection);
                await release.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("The Data Protection key ring was not loaded at start ({Reason}): it loads at the first sealed secret", e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
