using CallMesh.Tenants;

namespace CallMesh.Calls;

/// <summary>
/// A brand's conversion rules applied to a call: which conditions it meets and whether it counts as a
/// qualified call (every condition the rules set holds; rules with no condition count every call).
/// </summary>
public static class Qualification
{
    public static (bool Qualified, List<string> Met) Evaluate(ConversionRules rules, CallRecord call)
    {
        if (call.Spam) return (false, []);   // whatever the rules: spam is no lead
        var set = new List<(string Name, bool Holds)>();
        if (rules.RequireAnswered) set.Add(("answered", call.Answered));
        if (rules.MinDurationSeconds is { } min) set.Add(("min-duration", call.TalkSeconds >= min));
        if (rules.FirstTimeCallerOnly) set.Add(("first-time", call.FirstTime));
        if (rules.UniqueCallerWithinDays is { } days) set.Add(("unique-caller", call.DaysSincePreviousCall is not { } since || since >= days));
        if (rules.WithinBusinessHours) set.Add(("business-hours", call.WithinHours));
        if (rules.Outcomes is { Count: > 0 } outcomes) set.Add(("outcome", call.Outcome is not null && outcomes.Contains(call.Outcome)));
        if (set.Count == 0) return (true, ["any-call"]);
        return (set.All(c => c.Holds), set.Where(c => c.Holds).Select(c => c.Name).ToList());
    }
}
