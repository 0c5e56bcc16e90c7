using CallMesh.Calls;
using CallMesh.Dni;
using CallMesh.Pools;

namespace CallMesh.Tests.Domain;

/// <summary>The match rule of docs/attribution.md, case by case: a rest of 10 minutes and a window of an hour.</summary>
public sealed class HoldMatchTests
{
    private static readonly DateTime T0 = new(2026, 12, 4, 12, 0, 0, DateTimeKind.Utc);
    private static readonly LateCallRules Rules = new(RestSeconds: 600, "configured", LateCallWindowSeconds: 3600);
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid();

    private static HeldLease Hold(Guid visitor, int fromMinute, int? toMinute, bool early = false) =>
        new("t", "web", visitor, Guid.NewGuid(), "ny", T0.AddMinutes(fromMinute), toMinute is { } m ? T0.AddMinutes(m) : null, null, early);

    [Theory]
    // newest hold first; the call comes at minute `call`
    [InlineData(5, null, false, "live", "B")]              // B holds the number: B
    [InlineData(5, 8, false, "afterRelease", "B")]         // B's hold ended 2 minutes before: B
    [InlineData(5, null, true, "ambiguous", null)]         // B got it early, A left 9 minutes before the call (< rest): nobody
    [InlineData(5, 8, true, "ambiguous", null)]            // the same after B's release
    public void A_call_at_minute_ten(int bFrom, int? bTo, bool early, string match, string? credited)
    {
        var found = HoldMatch.Find([Hold(B, bFrom, bTo, early), Hold(A, -10, 1)], T0.AddMinutes(10), Rules);

        Assert.Equal(match, found.Kind);
        Assert.Equal(credited is null ? null : B, found.Credited?.VisitorId);
        Assert.Equal(match == "ambiguous" ? [B, A] : Array.Empty<Guid>(), found.Candidates.Select(c => c.VisitorId));
    }

    [Fact]
    public void An_early_reuse_is_no_longer_ambiguous_once_a_rest_has_passed_since_the_earlier_hold_ended()
    {
        var found = HoldMatch.Find([Hold(B, 1, null, early: true), Hold(A, -10, 0)], T0.AddMinutes(11), Rules);

        Assert.Equal(("live", B), (found.Kind, found.Credited!.VisitorId));
    }

    [Fact]
    public void The_same_visitor_back_on_its_own_number_is_never_ambiguous()
    {
        var found = HoldMatch.Find([Hold(A, 1, null, early: true), Hold(A, -10, 0)], T0.AddMinutes(2), Rules);

        Assert.Equal(("live", A), (found.Kind, found.Credited!.VisitorId));
    }

    [Fact]
    public void After_the_late_call_window_nobody_is_credited_and_with_no_hold_at_all_neither()
    {
        var justInside = HoldMatch.Find([Hold(A, -10, 0)], T0.AddMinutes(60), Rules);
        var outside = HoldMatch.Find([Hold(A, -10, 0)], T0.AddMinutes(61), Rules);

        Assert.Equal(("afterRelease", 3600.0), (justInside.Kind, justInside.SecondsSinceRelease));
        Assert.Equal(("none", (HeldLease?)null), (outside.Kind, outside.Credited));
        Assert.Equal("none", HoldMatch.Find([], T0, Rules).Kind);
    }
}
