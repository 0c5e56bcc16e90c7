using CallMesh.Silo.Database;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Database;

public sealed class MigrationTests : IAsyncLifetime
{
    private readonly TestDatabase _db = TestDatabase.WithoutMigrations();

    public Task InitializeAsync() => _db.InitializeAsync();
    public Task DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task Silos_starting_together_apply_each_script_exactly_once()
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Migrator.ApplyAsync(_db.ConnectionString))));

        var applied = runs.SelectMany(r => r).ToList();
        Assert.Contains("0001_orleans_clustering.sql", applied);
        Assert.Equal(applied.Count, applied.Distinct().Count());
        Assert.Equal(applied.Count, await _db.Scalar<long>("SELECT count(*) FROM callmesh.schema_versions"));
        Assert.Equal(14, await _db.Scalar<long>("SELECT count(*) FROM orleans.orleansquery")); // 10 clustering + 4 storage keys
    }

    [Fact]
    public async Task Rerunning_applies_nothing()
    {
        var first = await Migrator.ApplyAsync(_db.ConnectionString);
        var second = await Migrator.ApplyAsync(_db.ConnectionString);

        Assert.NotEmpty(first);
        Assert.Empty(second);
    }
}
