using CallMesh.Dni;
using CallMesh.Pools;

namespace CallMesh.Calls;

/// <summary>
/// Which visitor's hold of a pool number a call belongs to (docs/attribution.md). <c>Kind</c>: "live" (held when the call
/// started), "afterRelease" (released at most the late-call window before), "ambiguous" (the number changed hands too soon
/// to tell: nobody is credited and both holds are kept), or "none".
/// </summary>
public sealed record HoldMatch(string Kind, HeldLease? Credited, double? SecondsSinceRelease, List<HeldLease> Candidates)
{
    public static readonly HoldMatch None = new(MatchKinds.None, null, null, []);

    /// <summary>
    /// <paramref name="holds"/>: the number's last two holds that began by <paramref name="at"/>, newest first.
    /// The newest is the candidate. It is ambiguous when it got the number by an early reuse and the hold before it, of
    /// another visitor, ended less than a rest before the call: that visitor's late call may be this one. Once a rest has
    /// passed since, the earlier visitor is as unlikely to call as for any rested number.
    /// </summary>
    public static HoldMatch Find(IReadOnlyList<HeldLease> holds, DateTime at, LateCallRules rules)
    {
        if (holds.Count == 0) return None;
        var last = holds[0];
        var live = last.ReleasedAt is not { } released || released > at;
        double? since = live ? null : (at - last.ReleasedAt!.Value).TotalSeconds;
        if (since > rules.LateCallWindowSeconds) return None;
        if (last.EarlyReuse && holds.Count > 1 && holds[1] is { ReleasedAt: { } before } previous
            && previous.VisitorId != last.VisitorId && (at - before).TotalSeconds < rules.RestSeconds)
            return new HoldMatch(MatchKinds.Ambiguous, null, since, [last, previous]);
        return new HoldMatch(live ? MatchKinds.Live : MatchKinds.AfterRelease, last, since, []);
    }
}
