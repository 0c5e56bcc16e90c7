using Microsoft.Extensions.Caching.Memory;

namespace CallMesh.Common;

/// <summary>
/// A silo's memory of lookups that may be a little stale (sites, swap plans, carrier accounts, API keys): an entry is kept
/// for <c>freshness</c>, then looked up again, so a change reaches every silo within that time. Misses are remembered too
/// (an unknown key costs one lookup per period). Bounded by size, not emptied when full: past <c>capacity</c> (counted in
/// units of <see cref="UnitChars"/> characters of key) the least recently used entries go, so a flood of unique keys
/// cannot push out every known site or key and send each request to the database. Keys longer than
/// <see cref="MaxKeyChars"/> are looked up every time and never kept.
/// </summary>
public sealed class FreshCache<T>(TimeProvider clock, TimeSpan freshness, int capacity = 100_000) : IDisposable
{
    public const int UnitChars = 64;
    public const int MaxKeyChars = 2048;

    private readonly MemoryCache _entries = new(new MemoryCacheOptions { SizeLimit = capacity, CompactionPercentage = 0.25 });

    public async Task<T> GetAsync(string key, Func<string, Task<T>> load)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (_entries.TryGetValue(key, out (T Value, DateTime Until) known) && known.Until > now) return known.Value;
        var value = await load(key);
        if (key.Length <= MaxKeyChars)
            _entries.Set(key, (value, now + freshness), new MemoryCacheEntryOptions { Size = 1 + key.Length / UnitChars });
        return value;
    }

    /// <summary>Forgets one key on this silo (after a change made here); other silos notice within the freshness.</summary>
    public void Forget(string key) => _entries.Remove(key);

    /// <summary>How many entries are kept now (for tests and health).</summary>
    public int Count => _entries.Count;

    public void Dispose() => _entries.Dispose();
}
