namespace CallMesh.Reports;

/// <summary>
/// What one call adds to its location's rollups: its measures on its local day, and the marketing
/// touches that led to it (oldest first; the last one is the call's own attribution).
/// </summary>
[GenerateSerializer, Alias("callmesh.CallContribution")]
public sealed record CallContribution(
    [property: Id(0)] string CallId,
    [property: Id(1)] int Revision,
    [property: Id(2)] DateOnly Day,
    [property: Id(3)] DateTime StartedAt,
    [property: Id(4)] List<CallTouch> Touches,
    [property: Id(5)] Measures Measures);

/// <summary>A marketing touch as attribution models weigh it.</summary>
[GenerateSerializer, Alias("callmesh.CallTouch")]
public sealed record CallTouch(
    [property: Id(0)] DateTime At,
    [property: Id(1)] string Source,
    [property: Id(2)] string Medium,
    [property: Id(3)] string? Campaign,
    [property: Id(4)] string? Keyword);

/// <summary>
/// Additive report measures. Decimal throughout, because attribution models credit fractions of a
/// call; under last-touch every count is whole. Never changed once built (sums make new ones), so
/// Orleans passes it between grains without copying.
/// </summary>
[GenerateSerializer, Immutable, Alias("callmesh.Measures")]
public sealed record Measures
{
    [Id(0)] public decimal Calls { get; init; }
    [Id(1)] public decimal Answered { get; init; }
    [Id(2)] public decimal Missed { get; init; }
    [Id(3)] public decimal FirstTime { get; init; }
    [Id(4)] public decimal Qualified { get; init; }
    [Id(5)] public decimal Revenue { get; init; }
    [Id(6)] public decimal DurationSeconds { get; init; }
    /// <summary>Calls per outcome (sale, appointment, quote, inquiry, spam, other).</summary>
    [Id(7)] public Dictionary<string, decimal> Outcomes { get; init; } = NoOutcomes;
    [Id(8)] public decimal Spend { get; init; }
    /// <summary>Missed calls whose caller left a message.</summary>
    [Id(9)] public decimal Voicemails { get; init; }
    /// <summary>Seconds answered callers waited, summed over <see cref="RingTimed"/> calls (those whose wait is known).</summary>
    [Id(10)] public decimal RingSeconds { get; init; }
    [Id(11)] public decimal RingTimed { get; init; }
    /// <summary>Texts to tracking numbers (leads that are not calls: <see cref="Calls"/> does not count them).</summary>
    [Id(12)] public decimal Texts { get; init; }

    // Most calls have no outcome: they share one empty map (never written to, like everything here).
    // Declared before Zero, which needs it while static fields are set in order.
    private static readonly Dictionary<string, decimal> NoOutcomes = [];

    public static readonly Measures Zero = new();

    public static Measures operator +(Measures a, Measures b) => Combine(a, b, 1);

    public static Measures operator -(Measures a, Measures b) => Combine(a, b, -1);

    private static Measures Combine(Measures a, Measures b, int sign)
    {
        var outcomes = new Dictionary<string, decimal>(a.Outcomes);
        foreach (var (outcome, count) in b.Outcomes)
        {
            var sum = outcomes.GetValueOrDefault(outcome) + sign * count;
            if (sum == 0) outcomes.Remove(outcome); else outcomes[outcome] = sum;
        }
        return new Measures
        {
            Calls = a.Calls + sign * b.Calls, Answered = a.Answered + sign * b.Answered, Missed = a.Missed + sign * b.Missed,
            FirstTime = a.FirstTime + sign * b.FirstTime, Qualified = a.Qualified + sign * b.Qualified,
            Revenue = a.Revenue + sign * b.Revenue, DurationSeconds = a.DurationSeconds + sign * b.DurationSeconds,
            Outcomes = outcomes, Spend = a.Spend + sign * b.Spend, Voicemails = a.Voicemails + sign * b.Voicemails,
            RingSeconds = a.RingSeconds + sign * b.RingSeconds, RingTimed = a.RingTimed + sign * b.RingTimed, Texts = a.Texts + sign * b.Texts,
        };
    }

    /// <summary>The sum of many, with one set of running totals instead of a new record per addition.</summary>
    public static Measures Sum(IEnumerable<Measures> all)
    {
        decimal calls = 0, answered = 0, missed = 0, firstTime = 0, qualified = 0, revenue = 0, duration = 0, spend = 0, voicemails = 0,
            ringSeconds = 0, ringTimed = 0, texts = 0;
        var outcomes = new Dictionary<string, decimal>();
        foreach (var m in all)
        {
            calls += m.Calls; answered += m.Answered; missed += m.Missed; firstTime += m.FirstTime; qualified += m.Qualified;
            revenue += m.Revenue; duration += m.DurationSeconds; spend += m.Spend;
            voicemails += m.Voicemails; ringSeconds += m.RingSeconds; ringTimed += m.RingTimed; texts += m.Texts;
            foreach (var (outcome, count) in m.Outcomes) outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + count;
        }
        return new Measures
        {
            Calls = calls, Answered = answered, Missed = missed, FirstTime = firstTime, Qualified = qualified, Revenue = revenue,
            DurationSeconds = duration, Spend = spend, Outcomes = outcomes.Where(o => o.Value != 0).ToDictionary(),
            Voicemails = voicemails, RingSeconds = ringSeconds, RingTimed = ringTimed, Texts = texts,
        };
    }

    public bool IsZero => Calls == 0 && Answered == 0 && Missed == 0 && FirstTime == 0 && Qualified == 0 && Revenue == 0
                          && DurationSeconds == 0 && Outcomes.Count == 0 && Spend == 0 && Voicemails == 0 && RingSeconds == 0 && RingTimed == 0
                          && Texts == 0;

    public bool SameAs(Measures other) => (this - other).IsZero;
}

[GenerateSerializer, Alias("callmesh.Bucket")]
public sealed record Bucket(
    [property: Id(0)] DateOnly Day,
    [property: Id(1)] string Source,
    [property: Id(2)] string Medium,
    [property: Id(3)] string? Campaign,
    [property: Id(4)] string? Keyword,
    [property: Id(5)] Measures Measures);


/// <summary><c>GroupBy</c>: day, source, campaign or keyword. <c>Model</c>: see <c>AttributionModels</c>.</summary>
[GenerateSerializer, Alias("callmesh.ReportQuery")]
public sealed record ReportQuery(
    [property: Id(0)] DateOnly From,
    [property: Id(1)] DateOnly To,
    [property: Id(2)] string GroupBy,
    [property: Id(3)] string Model,
    [property: Id(4)] double HalfLifeDays);

/// <summary>A report row: its group (a day, a source, a source and campaign, or a keyword) and its measures.</summary>
[GenerateSerializer, Alias("callmesh.ReportRow")]
public sealed record ReportRow(
    [property: Id(0)] string Key,
    [property: Id(1)] string? Source,
    [property: Id(2)] string? Campaign,
    [property: Id(3)] Measures Measures);

/// <summary>What rebuilding rollups from the calls found: calls read, buckets written, buckets that differed, calls requalified.</summary>
[GenerateSerializer, Alias("callmesh.RebuildResult")]
public sealed record RebuildResult(
    [property: Id(0)] int Calls,
    [property: Id(1)] int Buckets,
    [property: Id(2)] int ChangedBuckets,
    [property: Id(3)] int RequalifiedCalls = 0);
