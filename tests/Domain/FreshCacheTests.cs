using CallMesh.Common;

namespace CallMesh.Tests.Domain;

/// <summary>The silo's lookup cache under a flood of unique keys, as an anonymous client can send them.</summary>
public sealed class FreshCacheTests
{
    [Fact]
    public async Task A_flood_of_unique_keys_stays_within_the_capacity_and_does_not_push_out_the_keys_in_use()
    {
        using var cache = new FreshCache<string?>(TimeProvider.System, TimeSpan.FromHours(1), capacity: 1_000);
        var siteLoads = 0;
        Task<string?> LoadSite(string _) { Interlocked.Increment(ref siteLoads); return Task.FromResult<string?>("site"); }
        await cache.GetAsync("acme-web", LoadSite);

        var junk = new string('x', 1_000);
        for (var i = 0; i < 50_000; i++)
        {
            await cache.GetAsync($"{i}|{junk}", _ => Task.FromResult<string?>(null));
            if (i % 20 == 0) Assert.Equal("site", await cache.GetAsync("acme-web", LoadSite));   // the real site, asked all along
        }
        await Task.Delay(200);   // compaction runs in the background

        // Each junk key weighs 16 units (1,000 characters): at most about 62 of them fit, never 50,000.
        Assert.InRange(cache.Count, 1, 1_000 / 16 + 1);
        Assert.Equal(1, siteLoads);
        // A key too long to keep is looked up each time and never kept.
        await cache.GetAsync(new string('y', FreshCache<string?>.MaxKeyChars + 1), _ => Task.FromResult<string?>(null));
        Assert.InRange(cache.Count, 1, 1_000 / 16 + 1);
    }
}
