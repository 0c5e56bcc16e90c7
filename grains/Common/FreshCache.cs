using System.Collections.Concurrent;

namespace CallMesh.Common;

/// <summary>
/// A silo's memory of lookups that may be a little stale (sites, swap plans, carrier accounts, API keys):
/// an entry is kept for <c>freshness</c>, then looked up again, so a change reaches every silo within that
/// time. Misses are remembered too (an unknown key costs one lookup per period), so the size is bounded:
/// past <c>capacity</c> keys it starts over.
/// </summary>
public sealed class FreshCache<T>(TimeProvider clock, TimeSpan freshness, int capacity = 100_000)
{
    private readonly ConcurrentDictionary<string, (T Value, DateTime Until)> _entries = new(StringComparer.Ordinal);
    // ConcurrentDictionary.Count takes every lock: count new keys ourselves (approximately is enough).
    private int _keys;

    public async Task<T> GetAsync(string key, Func<string, Task<T>> load)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (_entries.TryGetValue(key, out var known) && known.Until > now) return known.Value;
        var value = await load(key);
        if (!_entries.ContainsKey(key) && Interlocked.Increment(ref _keys) > capacity)
        {
            _entries.Clear();
            Interlocked.Exchange(ref _keys, 0);
        }
        _entries[key] = (value, now + freshness);
        return value;
    }

    /// <summary>Forgets one key on this silo (after a change made here); other silos notice within the freshness.</summary>
    public void Forget(string key) => _entries.TryRemove(key, out _);
}
