using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.RateLimiting;

namespace CallMesh.Edge;

/// <summary>
/// A token bucket per key (a client address at the gateway, a site key in the silo), refilled when its key is next seen.
/// The library's partitioned limiter visits every partition ten times a second to refill it and to drop idle ones;
/// with a partition per visitor address that was 15 % of the gateway's CPU under DNI load (perf).
/// Here buckets live in two generations that swap every full-refill time (limit ÷ rate): a key that is in neither has
/// been idle at least that long, so its bucket would be full anyway and a new full one stands in for it.
/// </summary>
public sealed class KeyedTokenBuckets<TResource> : PartitionedRateLimiter<TResource>
{
    private sealed class Bucket(double tokens, long at)
    {
        public double Tokens = tokens;
        public long At = at;
    }

    private readonly Func<TResource, string?> _key;
    private readonly double _limit;
    private readonly double _perSecond;
    private readonly TimeSpan _generation;
    private readonly Lock _rotation = new();
    private ConcurrentDictionary<string, Bucket> _current = new(StringComparer.Ordinal);
    private ConcurrentDictionary<string, Bucket> _previous = new(StringComparer.Ordinal);
    private long _generationStart;

    /// <param name="key">The bucket a request draws from; null: the request is not limited.</param>
    /// <param name="limit">The burst: a bucket's size.</param>
    /// <param name="period">The time in which a bucket refills from empty to full, evenly.</param>
    public KeyedTokenBuckets(Func<TResource, string?> key, int limit, TimeSpan period)
    {
        _key = key;
        _limit = limit;
        _perSecond = limit / period.TotalSeconds;
        _generation = period;
        _generationStart = Stopwatch.GetTimestamp();
    }

    protected override RateLimitLease AttemptAcquireCore(TResource resource, int permitCount)
    {
        if (_key(resource) is not { } key) return Granted.Instance;
        var now = Stopwatch.GetTimestamp();
        Rotate(now);
        var current = _current;
        if (!current.TryGetValue(key, out var bucket))
            // Racing first uses of a key in this generation all find the same kept bucket.
            bucket = current.GetOrAdd(key, k => _previous.TryGetValue(k, out var kept) ? kept : new Bucket(_limit, now));
        lock (bucket)
        {
            bucket.Tokens = Math.Min(_limit, bucket.Tokens + Math.Max(0, Stopwatch.GetElapsedTime(bucket.At, now).TotalSeconds) * _perSecond);
            bucket.At = now;
            if (bucket.Tokens >= permitCount)
            {
                bucket.Tokens -= permitCount;
                return Granted.Instance;
            }
            return new Refused(TimeSpan.FromSeconds((permitCount - bucket.Tokens) / _perSecond));
        }
    }

    // No queueing: a request over the limit is answered 429 at once.
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TResource resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    public override RateLimiterStatistics? GetStatistics(TResource resource) => null;

    private void Rotate(long now)
    {
        var started = Interlocked.Read(ref _generationStart);
        if (Stopwatch.GetElapsedTime(started, now) < _generation) return;
        lock (_rotation)
        {
            if (_generationStart != started) return;
            _previous = _current;
            _current = new ConcurrentDictionary<string, Bucket>(StringComparer.Ordinal);
            Interlocked.Exchange(ref _generationStart, now);
        }
    }

    private sealed class Granted : RateLimitLease
    {
        public static readonly Granted Instance = new();
        public override bool IsAcquired => true;
        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }

    private sealed class Refused(TimeSpan retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => false;
        public override IEnumerable<string> MetadataNames => [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
