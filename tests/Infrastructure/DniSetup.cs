using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Pools;
using CallMesh.Tenants;
using CallMesh.Visitors;
using Microsoft.Extensions.DependencyInjection;

namespace CallMesh.Tests.Infrastructure;

/// <summary>Tenants with imported numbers and a pool, through the same grains and directory the API uses.</summary>
public sealed class DniSetup(GrainClusterFixture fixture)
{
    private static int _nextNumber;

    public IGrainFactory Grains => fixture.Grains;
    public T Service<T>() where T : notnull => fixture.Cluster.GetSiloServiceProvider().GetRequiredService<T>();

    /// <summary>Valid, unused US numbers: +1 512 3xx xxxx.</summary>
    public static List<string> NewNumbers(int count) => Enumerable.Range(0, count)
        .Select(_ => Interlocked.Increment(ref _nextNumber))
        .Select(i => $"+1512{300 + i / 10_000:D3}{i % 10_000:D4}").ToList();

    public async Task<(string Tenant, string Pool, List<string> Numbers, string Overflow)> PoolAsync(int size, int leaseSeconds = 1800, int idleGraceSeconds = 300)
    {
        var tenant = $"t-{Guid.NewGuid():N}"[..12];
        Assert.Equal(SaveOutcome.Created, (await Grains.GetGrain<ITenantGrain>(tenant).Put(new TenantConfig("Acme", "America/Chicago", "USD", null))).Outcome);
        var numbers = NewNumbers(size + 1);
        var (imported, _) = await Service<NumberDirectory>().ImportAsync(tenant, numbers.Select(n => new NumberImport(n, "twilio", null)).ToList());
        Assert.Equal(size + 1, imported);
        var pool = "web";
        var result = await Grains.GetGrain<INumberPoolGrain>(TenantKey.For(tenant, pool))
            .Put(new PoolConfig(null, numbers[..size], leaseSeconds, idleGraceSeconds, numbers[size]));
        Assert.Equal(SaveOutcome.Created, result.Outcome);
        return (tenant, pool, numbers[..size], numbers[size]);
    }

    public Task<VisitorHistory> History(string tenant, Guid visitor) =>
        Grains.GetGrain<IVisitorGrain>(TenantKey.For(tenant, visitor.ToString())).History();

    public Task<SessionAnswer> Visit(string tenant, string pool, Guid visitor, Guid? session = null, string url = "https://acme.example/",
        string? referrer = null, string? client = null) =>
        Grains.GetGrain<IVisitorGrain>(TenantKey.For(tenant, visitor.ToString())).StartOrResume(new SessionStart(
            "acme-web", session, new Uri(url), referrer is null ? null : new Uri(referrer), [],
            [new PlannedSwap("+15125550100", pool, null, "test")], ClientKey: client));
}
