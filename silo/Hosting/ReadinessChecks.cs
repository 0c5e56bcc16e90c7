using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Orleans.Runtime;

namespace CallMesh.Silo.Hosting;

/// <summary>Ready = this silo is an Active member of the cluster. The gateway routes only to ready silos.</summary>
public sealed class ClusterMembershipCheck(ILocalSiloDetails local, IClusterMembershipService membership) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(local.SiloAddress);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy($"silo {local.Name} is active")
            : HealthCheckResult.Unhealthy($"silo {local.Name} is {status}"));
    }
}

/// <summary>Unready from the moment the silo is told to stop, while it drains (Program.cs).</summary>
public sealed class ShutdownCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("stopping: draining requests")
            : HealthCheckResult.Healthy("running"));
}

/// <summary>
/// The database, reported as Degraded (still 200) when unreachable: this silo keeps answering calls from memory and its
/// journal, and DNI answers 503 by itself, so taking every silo out of the gateway's rotation would only make callers
/// hear errors. Orleans membership decides whether the silo is ready.
/// </summary>
public sealed class DatabaseCheck(NpgsqlDataSource database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            patience.CancelAfter(TimeSpan.FromSeconds(2));   // a probe must answer before the gateway's gives up
            await using var command = database.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(patience.Token);
            return HealthCheckResult.Healthy("database reachable");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Degraded("database unreachable: calls are journaled, DNI answers 503", e);
        }
    }
}
