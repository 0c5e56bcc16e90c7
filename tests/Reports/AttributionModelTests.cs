using CallMesh.Reports;

namespace CallMesh.Tests.Reports;

public sealed class AttributionModelTests
{
    private static readonly DateTime CallAt = new(2026, 11, 20, 15, 0, 0, DateTimeKind.Utc);

    private static List<CallTouch> Touches(params (string Source, double DaysBefore)[] touches) =>
        [.. touches.Select(t => new CallTouch(CallAt.AddDays(-t.DaysBefore), t.Source, "cpc", null, null))];

    [Theory]
    [InlineData("first-touch", new[] { 1.0, 0, 0, 0 })]
    [InlineData("last-touch", new[] { 0, 0, 0, 1.0 })]
    [InlineData("linear", new[] { 0.25, 0.25, 0.25, 0.25 })]
    [InlineData("position-based", new[] { 0.4, 0.1, 0.1, 0.4 })]
    public void Each_model_weighs_the_touches_as_documented(string model, double[] expected)
    {
        var weights = AttributionModels.Weights(model, Touches(("a", 9), ("b", 6), ("c", 3), ("d", 0)), CallAt);
        Assert.Equal(expected.Select(e => (decimal)e), weights);
    }

    [Fact]
    public void Position_based_gives_one_touch_everything_and_two_touches_half_each()
    {
        Assert.Equal([1m], AttributionModels.Weights("position-based", Touches(("a", 1)), CallAt));
        Assert.Equal([0.5m, 0.5m], AttributionModels.Weights("position-based", Touches(("a", 2), ("b", 1)), CallAt));
    }

    [Fact]
    public void Time_decay_halves_a_touch_per_half_life_before_the_call()
    {
        // Touches 14, 7 and 0 days before the call with a 7-day half-life weigh 1 : 2 : 4.
        var weights = AttributionModels.Weights("time-decay", Touches(("a", 14), ("b", 7), ("c", 0)), CallAt, halfLifeDays: 7);
        Assert.Equal([0.142857m, 0.285714m, 0.571429m], weights);
        // A 1-day half-life leaves the old touches almost nothing.
        var sharp = AttributionModels.Weights("time-decay", Touches(("a", 14), ("b", 7), ("c", 0)), CallAt, halfLifeDays: 1);
        Assert.True(sharp[2] > 0.99m);
    }

    [Fact]
    public void Under_every_model_a_calls_shares_add_up_to_exactly_one_call_and_exactly_its_revenue()
    {
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            var touches = Touches([.. Enumerable.Range(0, random.Next(1, 9)).Select(j => ($"s{random.Next(4)}", (double)random.Next(0, 60)))
                .OrderByDescending(t => t.Item2)]);
            var revenue = random.Next(0, 3) == 0 ? 0 : decimal.Round((decimal)random.NextDouble() * 10_000, 2);
            var call = new CallContribution($"CA{i}", 1, DateOnly.FromDateTime(CallAt), CallAt, touches, new Measures
            {
                Calls = 1, Answered = 1, Qualified = random.Next(2), Revenue = revenue, DurationSeconds = random.Next(0, 3600),
                Outcomes = new() { ["sale"] = 1 },
            });
            foreach (var model in AttributionModels.All)
            {
                var shares = AttributionModels.Credit(call, model, halfLifeDays: 1 + random.Next(14));
                var sum = shares.Aggregate(Measures.Zero, (total, s) => total + s.Share);
                Assert.True(sum.SameAs(call.Measures), $"{model} over {touches.Count} touches: {sum} is not {call.Measures}");
                Assert.All(shares, s => Assert.True(s.Share.Calls >= 0 && s.Share.Revenue >= 0));
            }
        }
    }
}
