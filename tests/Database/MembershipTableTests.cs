using System.Net;
using CallMesh.Silo.Hosting;
using CallMesh.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Membership;
using Orleans.Runtime.MembershipService;

namespace CallMesh.Tests.Database;

/// <summary>
/// Our clustering SQL judged by the real provider (contract §6.2): the provider's own table
/// class runs our query texts against PostgreSQL.
/// </summary>
public sealed class MembershipTableTests : IAsyncLifetime
{
    private readonly TestDatabase _db = new();
    private readonly string _clusterId = $"c-{Guid.NewGuid():N}";

    public Task InitializeAsync() => _db.InitializeAsync();
    public Task DisposeAsync() => _db.DisposeAsync();

    private string OrleansDb => SiloSettings.WithSearchPath(_db.ConnectionString, "orleans");

    private AdoNetClusteringTable NewTable() => new(
        new ServiceCollection().AddLogging().BuildServiceProvider(),
        Options.Create(new ClusterOptions { ClusterId = _clusterId, ServiceId = "svc" }),
        Options.Create(new AdoNetClusteringSiloOptions { Invariant = "Npgsql", ConnectionString = OrleansDb }),
        NullLogger<AdoNetClusteringTable>.Instance);

    private static MembershipEntry Entry(int port, SiloStatus status = SiloStatus.Active, int proxyPort = 30000, DateTime? times = null) => new()
    {
        SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), 7),
        SiloName = $"silo-{port}",
        HostName = "test-host",
        Status = status,
        ProxyPort = proxyPort,
        StartTime = times ?? DateTime.UtcNow,
        IAmAliveTime = times ?? DateTime.UtcNow,
        SuspectTimes = [],
    };

    private static async Task<AdoNetClusteringTable> Initialized(AdoNetClusteringTable table)
    {
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);
        return table;
    }

    [Fact]
    public async Task A_new_table_has_version_zero_and_no_members_and_init_twice_is_harmless()
    {
        var table = await Initialized(NewTable());
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);

        var all = await table.ReadAllAsync();
        Assert.Equal(0, all.Version.Version);
        Assert.Empty(all.Members);
    }

    [Fact]
    public async Task Insert_needs_the_current_version_and_happens_once()
    {
        var table = await Initialized(NewTable());
        var version = (await table.ReadAllAsync()).Version;
        var entry = Entry(11111);

        Assert.True(await table.InsertRowAsync(entry, version.Next()));
        Assert.False(await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next()));   // same silo again
        Assert.False(await table.InsertRowAsync(Entry(11112), version.Next()));                    // stale version

        var all = await table.ReadAllAsync();
        Assert.Equal(1, all.Version.Version);
        var (stored, _) = Assert.Single(all.Members);
        Assert.Equal(entry.SiloAddress, stored.SiloAddress);
        Assert.Equal("silo-11111", stored.SiloName);
        Assert.Equal(SiloStatus.Active, stored.Status);
    }

    [Fact]
    public async Task Racing_inserts_with_one_version_let_exactly_one_win()
    {
        var table = await Initialized(NewTable());
        var next = (await table.ReadAllAsync()).Version.Next();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () => await (await Initialized(NewTable())).InsertRowAsync(Entry(12000 + i), next))));

        Assert.Equal(1, results.Count(r => r));
        Assert.Equal(1, (await table.ReadAllAsync()).Version.Version);
    }

    [Fact]
    public async Task Update_needs_the_current_etag_and_keeps_suspect_times_byte_for_byte()
    {
        var table = await Initialized(NewTable());
        var entry = Entry(11111);
        await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next());
        var (_, etag) = (await table.ReadRowAsync(entry.SiloAddress)).Members.Single();

        var suspect = SiloAddress.New(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 11112), 9);
        entry.Status = SiloStatus.Dead;
        entry.SuspectTimes = [Tuple.Create(suspect, new DateTime(2026, 11, 23, 10, 20, 30, 456, DateTimeKind.Utc))];
        var version = (await table.ReadAllAsync()).Version;
        Assert.True(await table.UpdateRowAsync(entry, etag, version.Next()));
        Assert.False(await table.UpdateRowAsync(entry, etag, version.Next()));   // stale etag and version

        var (stored, _) = (await table.ReadRowAsync(entry.SiloAddress)).Members.Single();
        Assert.Equal(SiloStatus.Dead, stored.Status);
        var (who, when) = Assert.Single(stored.SuspectTimes!);
        Assert.Equal(suspect, who);
        Assert.Equal(entry.SuspectTimes[0].Item2, when);
        Assert.Equal(2, (await table.ReadAllAsync()).Version.Version);
    }

    [Fact]
    public async Task Heartbeat_changes_only_the_time_and_not_the_version()
    {
        var table = await Initialized(NewTable());
        var entry = Entry(11111, times: DateTime.UtcNow.AddMinutes(-5));
        await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next());

        entry.IAmAliveTime = DateTime.UtcNow;
        entry.Status = SiloStatus.Dead; // must be ignored by a heartbeat
        await table.UpdateIAmAliveAsync(entry);

        var all = await table.ReadAllAsync();
        var (stored, _) = all.Members.Single();
        Assert.Equal(1, all.Version.Version);
        Assert.Equal(SiloStatus.Active, stored.Status);
        Assert.True(stored.IAmAliveTime > DateTime.UtcNow.AddMinutes(-1));
    }

    [Fact]
    public async Task Reading_an_absent_row_gives_the_version_and_no_member()
    {
        var table = await Initialized(NewTable());
        await table.InsertRowAsync(Entry(11111), (await table.ReadAllAsync()).Version.Next());

        var absent = await table.ReadRowAsync(Entry(19999).SiloAddress);

        Assert.Empty(absent.Members);
        Assert.Equal(1, absent.Version.Version);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Cleanup_removes_old_dead_rows_only(bool singularKeyInstalled)
    {
        if (!singularKeyInstalled)
            await _db.Scalar<int>("DELETE FROM orleans.orleansquery WHERE querykey = 'CleanupDefunctSiloEntryKey'");
        var table = await Initialized(NewTable());
        var old = DateTime.UtcNow.AddHours(-3);
        foreach (var entry in new[] { Entry(11111, SiloStatus.Dead, times: old), Entry(11112, SiloStatus.Active, times: old), Entry(11113, SiloStatus.Dead) })
            Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next()));

        await table.CleanupDefunctSiloEntriesAsync(DateTimeOffset.UtcNow.AddHours(-1));

        var left = (await table.ReadAllAsync()).Members.Select(m => m.Item1.SiloAddress.Endpoint.Port).Order();
        Assert.Equal([11112, 11113], left);
    }

    [Fact]
    public async Task Deleting_the_cluster_removes_its_version_row_too()
    {
        var table = await Initialized(NewTable());
        await table.InsertRowAsync(Entry(11111), (await table.ReadAllAsync()).Version.Next());

        await table.DeleteMembershipTableEntriesAsync(_clusterId);

        await Assert.ThrowsAnyAsync<Exception>(() => table.ReadAllAsync());
    }

    [Fact]
    public async Task Clients_are_given_only_active_silos_with_a_gateway()
    {
        var table = await Initialized(NewTable());
        foreach (var entry in new[] { Entry(11111), Entry(11112, SiloStatus.Dead), Entry(11113, proxyPort: 0), Entry(11114, SiloStatus.Joining) })
            await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next());
        var gateways = new AdoNetGatewayListProvider(
            NullLogger<AdoNetGatewayListProvider>.Instance,
            new ServiceCollection().AddLogging().BuildServiceProvider(),
            Options.Create(new AdoNetClusteringClientOptions { Invariant = "Npgsql", ConnectionString = OrleansDb }),
            Options.Create(new GatewayOptions()),
            Options.Create(new ClusterOptions { ClusterId = _clusterId, ServiceId = "svc" }));
        await gateways.InitializeGatewayListProviderAsync();

        var list = await gateways.GetGatewaysAsync();

        var gateway = Assert.Single(list);
        Assert.Equal(30000, gateway.Port);
    }
}
