using System.Globalization;

namespace CallMesh.Pools;

/// <summary>
/// A pool's calls per day for the last 30 days: how each was matched, and how long after the visitor's last sign of life
/// a matched one came (a histogram). A few hundred integers a pool, kept in its grain state. Percentiles are the upper
/// bound of their bucket, so they err long: a longer rest costs numbers, a shorter one costs wrong credits.
/// </summary>
public sealed class CallStatistics
{
    public const int Days = 30;

    /// <summary>Delay bucket upper bounds in seconds, about a quarter apart, from 1 s to a week; the last bucket is open.</summary>
    public static readonly double[] Bounds =
    [
        1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 120, 150, 180, 240, 300, 420, 600, 900, 1200, 1800,
        2700, 3600, 5400, 7200, 10800, 14400, 21600, 28800, 43200, 64800, 86400, 172800, 259200, 432000, 604800,
    ];

    /// <summary>One day's counts: delays per bucket (<see cref="Bounds"/> and one beyond), calls per match kind.</summary>
    [GenerateSerializer, Alias("callmesh.CallStatistics.Day")]
    public sealed record Day([property: Id(0)] int[] Delays, [property: Id(1)] Dictionary<string, int> Matches);

    private readonly SortedDictionary<string, Day> _days;

    public CallStatistics(Dictionary<string, Day>? days = null) =>
        _days = new SortedDictionary<string, Day>(
            (days ?? []).Where(d => d.Value.Delays?.Length == Bounds.Length + 1 && d.Value.Matches is not null)
                .ToDictionary(d => d.Key, d => d.Value), StringComparer.Ordinal);

    public void AddMatch(DateTime at, string match)
    {
        var matches = On(at).Matches;
        matches[match] = matches.GetValueOrDefault(match) + 1;
    }

    public void AddDelay(DateTime at, double seconds)
    {
        var bucket = Array.BinarySearch(Bounds, Math.Max(0, seconds));
        On(at).Delays[bucket >= 0 ? bucket : ~bucket]++;
    }

    private Day On(DateTime at)
    {
        var key = DayKey(at);
        if (!_days.TryGetValue(key, out var day)) _days[key] = day = new Day(new int[Bounds.Length + 1], []);
        while (_days.Count > Days) _days.Remove(_days.Keys.First());
        return day;
    }

    /// <summary>What the grain state keeps.</summary>
    public Dictionary<string, Day> ToState() => new(_days);

    /// <summary>Delay observations and percentiles over the days from <paramref name="since"/> on.</summary>
    public CallDelays Delays(DateTime since)
    {
        var totals = new long[Bounds.Length + 1];
        foreach (var day in From(since))
            for (var i = 0; i < totals.Length; i++) totals[i] += day.Delays[i];
        var n = totals.Sum();
        return new CallDelays(n, Percentile(totals, n, 0.50), Percentile(totals, n, 0.90), Percentile(totals, n, 0.99));
    }

    /// <summary>Calls per match kind over the days from <paramref name="since"/> on.</summary>
    public Dictionary<string, long> Matches(DateTime since) =>
        From(since).SelectMany(d => d.Matches).GroupBy(m => m.Key).ToDictionary(g => g.Key, g => g.Sum(m => (long)m.Value));

    private IEnumerable<Day> From(DateTime since)
    {
        var from = DayKey(since);
        return _days.Where(d => string.CompareOrdinal(d.Key, from) >= 0).Select(d => d.Value);
    }

    private static string DayKey(DateTime at) => at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static double? Percentile(long[] totals, long n, double p)
    {
        if (n == 0) return null;
        var rank = (long)Math.Ceiling(p * n);
        long seen = 0;
        for (var i = 0; i < totals.Length; i++)
            if ((seen += totals[i]) >= rank)
                return Bounds[Math.Min(i, Bounds.Length - 1)];   // beyond a week reads as a week: the longest rest there is
        return null;
    }
}
