using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Reports;
using CallMesh.Silo.History;
using CallMesh.Tenants;
using CallMesh.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CallMesh.Tests.Reports;

/// <summary>Monthly partitions, retention and rollups that outlive their calls, on a real silo with PostgreSQL.</summary>
public sealed class RetentionTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private readonly DniSetup _dni = new(fixture);
    private static int _calls;

    /// <summary>A tenant with one location in UTC and one static number; answers the tenant and the number.</summary>
    private async Task<(string Tenant, string Number)> TenantAsync()
    {
        var tenant = $"h-{Guid.NewGuid():N}"[..12];
        await fixture.Grains.GetGrain<ITenantGrain>(tenant).Put(new TenantConfig("Acme", "UTC", "USD", new ConversionRules()));
        List<OpeningHours> hours = [.. LocationRules.Days.Select(d => new OpeningHours(d, "00:00", "23:59"))];
        await fixture.Grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, "store")).Put(new LocationConfig("Acme store",
            new PostalAddress("1 Main St", "City", "CA", "90001", "US"), "+12135550100", "+12135550101", "UTC", hours, null, null, null, "west", null));
        var number = DniSetup.NewNumbers(1)[0];
        var directory = _dni.Service<NumberDirectory>();
        await directory.ImportAsync(tenant, [new NumberImport(number, "twilio", null)]);
        Assert.Null(await directory.AssignStaticAsync(tenant, "store", new StaticNumber("billboard", number, "billboard", "I-10", "lamar", null)));
        return (tenant, number);
    }

    private async Task CallAsync(string tenant, string number, DateTime at)
    {
        var call = fixture.Grains.GetGrain<ICallGrain>(TenantKey.For(tenant, $"CAret{Interlocked.Increment(ref _calls):D29}"));
        await call.Start(new InboundCall("AC1", $"+1415555{Random.Shared.Next(10_000):D4}", number, at));
        await call.Apply(new CallEvent("inbound:3", "inbound", "completed", 45, null));
    }

    [Fact]
    public async Task Maintenance_drops_a_month_every_tenant_let_go_deletes_expired_rows_of_months_others_keep_and_rollups_keep_their_counts()
    {
        var (shortTenant, shortNumber) = await TenantAsync();   // keeps 12 months
        var (longTenant, longNumber) = await TenantAsync();     // keeps everything
        var now = DateTime.UtcNow;
        var firstOfMonth = new DateTime(now.Year, now.Month, 1, 12, 0, 0, DateTimeKind.Utc);
        var onlyShort = firstOfMonth.AddMonths(-21).AddDays(3);   // a month only the short-lived tenant had calls in
        var shared = firstOfMonth.AddMonths(-20).AddDays(3);      // a month both had calls in
        for (var i = 0; i < 3; i++) await CallAsync(shortTenant, shortNumber, onlyShort.AddHours(i));
        for (var i = 0; i < 2; i++) await CallAsync(shortTenant, shortNumber, shared.AddHours(i));
        for (var i = 0; i < 2; i++) await CallAsync(longTenant, longNumber, shared.AddHours(i));
        await CallAsync(shortTenant, shortNumber, now.AddDays(-1));

        var store = _dni.Service<RollupStore>();
        var twoYears = (From: DateOnly.FromDateTime(now.AddYears(-2)), To: DateOnly.FromDateTime(now));
        var before = await store.TotalsAsync(shortTenant, "store", twoYears.From, twoYears.To);
        Assert.Equal((6m, 6m), (before.Calls, before.Missed));
        // Calls of months made before the migration's partitions wait in the default partition until maintenance makes theirs.
        Assert.True(await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls_default") >= 7);

        // As the silos run it: their login, which changes the schema only through the partition functions.
        await using var database = NpgsqlDataSource.Create(await SiloLogin.PrepareAsync(fixture.Database.ConnectionString));
        var retention = new Retention(database, new HistoryOptions(TimeSpan.FromHours(1), null), TimeProvider.System, NullLogger<Retention>.Instance);
        await retention.SetAsync(shortTenant, 12);
        var result = (await retention.RunOnceAsync())!;

        string Partition(DateTime at) => $"calls_{at:yyyy_MM}";
        Assert.Equal([Partition(onlyShort)], result.PartitionsDropped);
        Assert.False(await Exists(Partition(onlyShort)));
        Assert.True(await Exists(Partition(shared)));
        Assert.Equal(0, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls_default"));
        Assert.Equal(2, result.CallsDeleted);   // the short-lived tenant's rows in the shared month
        Assert.Equal(1, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1", shortTenant));
        Assert.Equal(1, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.call_keys WHERE tenant_id = $1", shortTenant));
        Assert.Equal(2, await fixture.Database.Scalar<long>("SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1", longTenant));

        // The counts stay, and a rebuild from what is left leaves the days before the cutoff alone.
        Assert.True((await store.TotalsAsync(shortTenant, "store", twoYears.From, twoYears.To)).SameAs(before));
        var rebuilt = (await _dni.Service<RollupRebuilder>().RebuildAsync(shortTenant, "store"))!;
        Assert.Equal((1, 0), (rebuilt.Calls, rebuilt.ChangedBuckets));
        Assert.True((await store.TotalsAsync(shortTenant, "store", twoYears.From, twoYears.To)).SameAs(before));

        // A second round finds nothing left to do.
        var again = (await retention.RunOnceAsync())!;
        Assert.Equal((0, 0L), (again.PartitionsDropped.Count, again.CallsDeleted));
    }

    [Fact]
    public async Task Calls_is_a_table_partitioned_by_month_with_months_made_ahead()
    {
        Assert.Equal("p", await fixture.Database.Scalar<string>("SELECT relkind::text FROM pg_class WHERE oid = 'callmesh.calls'::regclass"));
        var ahead = DateTime.UtcNow.AddMonths(2);
        Assert.True(await Exists($"calls_{ahead:yyyy_MM}"));
    }

    private Task<bool> Exists(string table) => fixture.Database.Scalar<bool>("SELECT to_regclass($1) IS NOT NULL", $"callmesh.{table}");
}
