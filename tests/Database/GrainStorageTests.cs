using System.Text;
using CallMesh.Silo.Hosting;
using CallMesh.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace CallMesh.Tests.Database;

/// <summary>Our grain-state SQL judged by the real ADO.NET storage provider (contract §6.4).</summary>
public sealed class GrainStorageTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private IGrainStorage Storage => fixture.Cluster.GetSiloServiceProvider()
        .GetRequiredKeyedService<IGrainStorage>(OrleansSetup.StorageName);

    public sealed record Counter(string Name, int Value);

    /// <summary>Counter after a rename: same shape, another name and namespace.</summary>
    public sealed record RenamedCounter(string Name, int Value);

    private static GrainId NewId(string kind) => kind switch
    {
        "string" => GrainId.Create("test", $"key-{Guid.NewGuid():N}"),
        "integer" => GrainId.Create(GrainType.Create("test"), GrainIdKeyExtensions.CreateIntegerKey(Random.Shared.NextInt64())),
        "integer+ext" => GrainId.Create(GrainType.Create("test"), GrainIdKeyExtensions.CreateIntegerKey(Random.Shared.NextInt64(), "ext")),
        "guid" => GrainId.Create(GrainType.Create("test"), GrainIdKeyExtensions.CreateGuidKey(Guid.NewGuid())),
        "guid+ext" => GrainId.Create(GrainType.Create("test"), GrainIdKeyExtensions.CreateGuidKey(Guid.NewGuid(), "ext")),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [InlineData("string")]
    [InlineData("integer")]
    [InlineData("integer+ext")]
    [InlineData("guid")]
    [InlineData("guid+ext")]
    public async Task Etags_advance_and_stale_writes_are_rejected(string kind)
    {
        var id = NewId(kind);
        var state = new GrainState<Counter>();

        await Storage.ReadStateAsync("counter", id, state);
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);

        state.State = new Counter("calls", 1);
        await Storage.WriteStateAsync("counter", id, state);
        Assert.Equal("1", state.ETag);
        state.State = new Counter("calls", 2);
        await Storage.WriteStateAsync("counter", id, state);
        Assert.Equal("2", state.ETag);

        var stale = new GrainState<Counter>(new Counter("calls", 99)) { ETag = "1" };
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("counter", id, stale));
        var fresh = new GrainState<Counter>(new Counter("calls", 99));   // no etag, but the row exists
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("counter", id, fresh));

        var read = new GrainState<Counter>();
        await Storage.ReadStateAsync("counter", id, read);
        Assert.Equal(new Counter("calls", 2), read.State);
        Assert.Equal("2", read.ETag);

        await Storage.ClearStateAsync("counter", id, state);
        Assert.Equal("3", state.ETag);
        var cleared = new GrainState<Counter>();
        await Storage.ReadStateAsync("counter", id, cleared);
        Assert.False(cleared.RecordExists);
        Assert.Equal("3", cleared.ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync("counter", id, read));

        state.State = new Counter("calls", 4);
        await Storage.WriteStateAsync("counter", id, state);
        Assert.Equal("4", state.ETag);
    }

    [Fact]
    public async Task Racing_first_writes_let_exactly_one_win()
    {
        var id = NewId("string");
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            try
            {
                await Storage.WriteStateAsync("counter", id, new GrainState<Counter>(new Counter("race", i)));
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        })));

        Assert.Equal(1, outcomes.Count(o => o));
    }

    [Fact]
    public async Task Guid_and_integer_keys_fill_the_numeric_key_columns()
    {
        var guid = Guid.NewGuid();
        var guidId = GrainId.Create(GrainType.Create("test"), GrainIdKeyExtensions.CreateGuidKey(guid, "x"));
        await Storage.WriteStateAsync("keys", guidId, new GrainState<Counter>(new Counter("g", 1)));
        var intId = GrainId.Create(GrainType.Create("test"), GrainIdKeyExtensions.CreateIntegerKey(4242));
        await Storage.WriteStateAsync("keys", intId, new GrainState<Counter>(new Counter("i", 1)));

        var bytes = guid.ToByteArray();
        Assert.Equal(1, await fixture.Database.Scalar<long>(
            "SELECT count(*) FROM orleans.grain_state WHERE state_name = 'keys' AND grain_id_n0 = $1 AND grain_id_n1 = $2 AND grain_id_ext = 'x'",
            BitConverter.ToInt64(bytes, 0), BitConverter.ToInt64(bytes, 8)));
        Assert.Equal(1, await fixture.Database.Scalar<long>(
            "SELECT count(*) FROM orleans.grain_state WHERE state_name = 'keys' AND grain_id_n0 = 0 AND grain_id_n1 = 4242 AND grain_id_ext IS NULL"));
    }

    [Fact]
    public async Task Stored_state_carries_no_type_names_so_a_renamed_class_reads_it()
    {
        var id = NewId("string");
        await Storage.WriteStateAsync("counter", id, new GrainState<Counter>(new Counter("renamed", 7)));

        var payload = await fixture.Database.Scalar<byte[]>(
            "SELECT payload FROM orleans.grain_state WHERE state_name = 'counter' AND grain_id_ext = $1", id.Key.ToString()!);
        var json = Encoding.UTF8.GetString(payload!);
        Assert.Equal("""{"name":"renamed","value":7}""", json);

        var renamed = new GrainState<RenamedCounter>();
        await Storage.ReadStateAsync("counter", id, renamed);
        Assert.Equal(new RenamedCounter("renamed", 7), renamed.State);
    }
}
