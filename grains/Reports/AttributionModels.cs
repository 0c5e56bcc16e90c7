namespace CallMesh.Reports;

/// <summary>
/// How a call's credit is shared among the touches that led to it. Every model gives weights that sum
/// to exactly one, and every measure is split with its rounding remainder on the heaviest touch, so
/// the shares of a call always add up to exactly one call and exactly its revenue.
/// </summary>
public static class AttributionModels
{
    public const string FirstTouch = "first-touch";
    public const string LastTouch = "last-touch";
    public const string Linear = "linear";
    public const string TimeDecay = "time-decay";
    public const string PositionBased = "position-based";

    public static readonly string[] All = [FirstTouch, LastTouch, Linear, TimeDecay, PositionBased];

    public const double DefaultHalfLifeDays = 7;

    // Counts keep six decimals (a sixth of a call is 0.166667); money keeps cents.
    private const int CountDecimals = 6, MoneyDecimals = 2;

    /// <summary>
    /// Each touch's weight, oldest touch first, summing to exactly 1. first-touch and last-touch give all
    /// to one touch; linear shares equally; time-decay halves a touch's weight per half-life before the
    /// call; position-based gives 40% to the first and the last touch and 20% to those between
    /// (50/50 for two touches).
    /// </summary>
    public static decimal[] Weights(string model, IReadOnlyList<CallTouch> touches, DateTime callAt, double halfLifeDays = DefaultHalfLifeDays)
    {
        var n = touches.Count;
        if (n == 0) return [];
        var raw = model switch
        {
            FirstTouch => touches.Select((_, i) => i == 0 ? 1.0 : 0.0),
            LastTouch => touches.Select((_, i) => i == n - 1 ? 1.0 : 0.0),
            Linear => touches.Select(_ => 1.0),
            TimeDecay => touches.Select(t => Math.Pow(0.5, Math.Max(0, (callAt - t.At).TotalDays) / halfLifeDays)),
            PositionBased => touches.Select((_, i) => n switch
            {
                1 => 1.0,
                2 => 0.5,
                _ => i == 0 || i == n - 1 ? 0.4 : 0.2 / (n - 2),
            }),
            _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown attribution model"),
        };
        return Split(1m, [.. raw], CountDecimals);
    }

    /// <summary>The call's measures shared among its touches under <paramref name="model"/> (touches with no share left out).</summary>
    public static List<(CallTouch Touch, Measures Share)> Credit(CallContribution call, string model, double halfLifeDays = DefaultHalfLifeDays)
    {
        var weights = Weights(model, call.Touches, call.StartedAt, halfLifeDays);
        var raw = weights.Select(w => (double)w).ToArray();
        var m = call.Measures;
        decimal[] Count(decimal value) => Split(value, raw, CountDecimals);
        var calls = Count(m.Calls);
        var answered = Count(m.Answered);
        var missed = Count(m.Missed);
        var firstTime = Count(m.FirstTime);
        var qualified = Count(m.Qualified);
        var duration = Count(m.DurationSeconds);
        var revenue = Split(m.Revenue, raw, MoneyDecimals);
        var spend = Split(m.Spend, raw, MoneyDecimals);
        var outcomes = m.Outcomes.ToDictionary(o => o.Key, o => Count(o.Value));

        var shares = new List<(CallTouch, Measures)>();
        for (var i = 0; i < weights.Length; i++)
        {
            if (weights[i] == 0) continue;
            shares.Add((call.Touches[i], new Measures
            {
                Calls = calls[i], Answered = answered[i], Missed = missed[i], FirstTime = firstTime[i], Qualified = qualified[i],
                DurationSeconds = duration[i], Revenue = revenue[i], Spend = spend[i],
                Outcomes = outcomes.Where(o => o.Value[i] != 0).ToDictionary(o => o.Key, o => o.Value[i]),
            }));
        }
        return shares;
    }

    /// <summary>
    /// <paramref name="total"/> in proportion to <paramref name="weights"/>, each share rounded to
    /// <paramref name="decimals"/>, the remainder on the heaviest weight (the latest of equals): the shares sum to the total exactly.
    /// </summary>
    public static decimal[] Split(decimal total, double[] weights, int decimals)
    {
        var sum = weights.Sum();
        var heaviest = Array.LastIndexOf(weights, weights.Max());   // ties: the most recent touch
        var shares = new decimal[weights.Length];
        for (var i = 0; i < weights.Length; i++)
            if (i != heaviest) shares[i] = decimal.Round(total * (decimal)(weights[i] / sum), decimals);
        shares[heaviest] = total - shares.Sum();
        return shares;
    }
}
