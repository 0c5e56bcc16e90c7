using CallMesh.Calls;

namespace CallMesh.Outbound;

/// <summary>The events a call change produces, named as receivers see them in <c>type</c>.</summary>
public static class CallEvents
{
    public const string Started = "call.started", Completed = "call.completed", Qualified = "call.qualified",
        OutcomeSet = "outcome.set", RevenueChanged = "revenue.changed", Missed = "call.missed";

    public static readonly string[] All = [Started, Completed, Qualified, OutcomeSet, RevenueChanged, Missed];

    /// <summary>
    /// What changed from <paramref name="before"/> (null: the call is new) to <paramref name="after"/>, in the order a
    /// receiver should see it. A rules rebuild that requalifies old calls sends nothing: it restates history, it is not news.
    /// </summary>
    public static IEnumerable<string> Between(CallRecord? before, CallRecord after)
    {
        if (before is null) yield return Started;
        // Once the call is over and whether anyone answered is known (the caller's leg may report its end first).
        var settles = !(before?.Settled ?? false) && after.Settled;
        if (settles) yield return Completed;
        // A missed-call alert (to the location, a CRM task): once, when the call ends unanswered (a voicemail ends it so).
        if (settles && after.Missed) yield return Missed;
        if (!(before?.Qualified ?? false) && after.Qualified) yield return Qualified;
        if (after.Outcome is not null && after.Outcome != before?.Outcome) yield return OutcomeSet;
        else if (after.Outcome is not null && after.Value != before?.Value) yield return RevenueChanged;
    }
}
