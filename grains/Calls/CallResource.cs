using CallMesh.Visitors;

namespace CallMesh.Calls;

/// <summary>
/// A call as the calls API shows it. Outbound events carry the same resource, so a webhook receiver reads what an API
/// client reads.
/// </summary>
public sealed record CallResource(string Id, string Tenant, string? Location, string TrackingNumber, string NumberKind, string? Pool,
    string? StaticKey, string Caller, DateTime StartedAt, DateTime? EndedAt, string Status, bool Answered, int DurationSeconds,
    int TalkSeconds, string? RecordingUrl, string Route, string? RoutedTo, string Source, string Medium, string? Campaign,
    string? Keyword, string? Gclid, string? LandingPage, Guid? VisitorId, Guid? SessionId, bool Test, bool FirstTime,
    bool FirstTimeForLocation, bool WithinBusinessHours, bool Qualified, List<string> MetRules, string? Outcome, decimal? Value,
    string? Currency, string? ExternalId, string Match, double? SecondsSinceRelease, List<MatchCandidate>? MatchCandidates,
    ClickIds? ClickIds, string? Notes, List<Reports.CallTouch> Journey, string? FollowUp, int? AnsweredByStep, int? RingSeconds,
    bool Voicemail, string Kind, bool Spam)
{
    /// <summary>The resource of <paramref name="c"/>; <paramref name="maskCaller"/> keeps only the caller's area code and last two digits.</summary>
    public static CallResource From(CallRecord c, bool maskCaller = false)
    {
        var a = c.Attribution;
        var callerNumber = maskCaller && c.Caller.Length > 7 ? c.Caller[..5] + new string('*', c.Caller.Length - 7) + c.Caller[^2..] : c.Caller;
        return new CallResource(c.CallId, c.TenantId, a.LocationId, c.TrackingNumber, a.NumberKind, a.PoolId, a.StaticKey, callerNumber,
            c.StartedAt, c.EndedAt, c.Status, c.Answered, c.DurationSeconds, c.TalkSeconds, c.RecordingUrl, c.Routing.Route, c.Routing.DialTo,
            a.Source, a.Medium, a.Campaign, a.Keyword, a.Gclid, a.LandingPage, a.VisitorId, a.SessionId, a.IsTest, c.FirstTime,
            c.FirstTimeForLocation, c.WithinHours, c.Qualified, c.MetRules, c.Outcome, c.Value, c.Currency, c.OutcomeExternalId,
            a.Match, a.SecondsSinceRelease, a.Candidates, a.ClickIds, c.Notes,
            c.Touches.Count > 0 ? c.Touches : [new Reports.CallTouch(c.StartedAt, a.Source, a.Medium, a.Campaign, a.Keyword)],
            c.FollowUp ?? (c.Missed ? FollowUps.Open : null), c.AnsweredByStep, c.RingSeconds, c.Voicemail, c.Kind, c.Spam);
    }
}
