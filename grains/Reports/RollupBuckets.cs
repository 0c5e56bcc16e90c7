namespace CallMesh.Reports;

/// <summary>A bucket of callmesh.rollup_touches: a location's day, an attribution model, and the touch it credits.</summary>
public readonly record struct TouchKey(DateOnly Day, string Model, string Source, string Medium, string Campaign, string Keyword);

/// <summary>
/// What calls add to a location's buckets (docs/history.md). A call with one touch is credited alike by every model, so it
/// goes once under <see cref="Whole"/>; a call with several touches goes under each model with that model's shares. A call
/// that counts for nothing (a test or a blocked call) adds nothing.
/// </summary>
public sealed class RollupBuckets
{
    public const string Whole = "whole";

    public Dictionary<DateOnly, Measures> Days { get; } = [];
    public Dictionary<TouchKey, Measures> Touches { get; } = [];

    public bool IsEmpty => Days.Count == 0 && Touches.Count == 0;

    /// <summary>The change that replacing <paramref name="before"/> (null: a new call) by <paramref name="after"/> makes.</summary>
    public static RollupBuckets Change(CallContribution? before, CallContribution after)
    {
        var change = new RollupBuckets();
        if (before is not null) change.Add(before, -1);
        change.Add(after, +1);
        return change;
    }

    public void Add(CallContribution call, int sign)
    {
        if (call.Measures.IsZero) return;
        Change(Days, call.Day, call.Measures, sign);
        if (call.Touches.Count == 1)
        {
            Change(Touches, Key(call.Day, Whole, call.Touches[0]), call.Measures, sign);
            return;
        }
        foreach (var model in AttributionModels.All)
            foreach (var (touch, share) in AttributionModels.Credit(call, model))
                Change(Touches, Key(call.Day, model, touch), share, sign);
    }

    private static TouchKey Key(DateOnly day, string model, CallTouch touch) =>
        new(day, model, touch.Source, touch.Medium, touch.Campaign ?? "", touch.Keyword ?? "");

    private static void Change<TKey>(Dictionary<TKey, Measures> sums, TKey key, Measures measures, int sign) where TKey : notnull
    {
        var sum = sums.TryGetValue(key, out var current) ? current : Measures.Zero;
        sum = sign > 0 ? sum + measures : sum - measures;
        if (sum.IsZero) sums.Remove(key); else sums[key] = sum;
    }
}
