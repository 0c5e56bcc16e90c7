using CallMesh.Common;

namespace CallMesh.Calls;

/// <summary>
/// One phone call, from the carrier's first webhook to its outcome from the CRM. Key:
/// "{tenant}/{callSid}" (<see cref="TenantKey"/>). Its record is a row of callmesh.calls, written behind the
/// carrier's answer (the delivery is journaled before it); carrier deliveries may repeat and arrive in any order.
/// </summary>
public interface ICallGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records, attributes and (unless <paramref name="routed"/> says how the webhook already answered) routes a new
    /// inbound call; a repeated start gets the first answer and changes nothing.
    /// </summary>
    Task<CallRouting> Start(InboundCall call, CallRouting? routed = null);

    /// <summary>Applies a status callback or dial result once; says whether the call is known and its end settled.</summary>
    Task<Applied> Apply(CallEvent delivery);

    /// <summary>
    /// The caller's leg ended and the dial's outcome never came (<see cref="Applied.AwaitingDial"/> for long enough): the
    /// call's end is settled as its deliveries so far tell it. False when the call is unknown.
    /// </summary>
    Task<bool> Settle();

    Task<CallRecord?> Get();

    Task<OutcomeResult> SetOutcome(CallOutcome outcome);

    /// <summary>Sets where the location is with calling back (<see cref="FollowUps"/>); null when the call is unknown.</summary>
    Task<CallRecord?> SetFollowUp(string followUp);

    /// <summary>The call's row was changed behind this grain (an erasure): drop the copy held, read the row again when next asked.</summary>
    Task Forget();
}

/// <summary>What became of a carrier delivery (<see cref="ICallGrain.Apply"/>).</summary>
[GenerateSerializer, Alias("callmesh.Applied")]
public enum Applied
{
    /// <summary>No such call yet (its start may still be on its way): try again later.</summary>
    UnknownCall,
    /// <summary>Applied (or applied before).</summary>
    Done,
    /// <summary>
    /// Applied; the caller's leg has ended but whether the forwarded leg answered is not known yet (callbacks arrive in any
    /// order, through any silo), so the call's completion and a missed-call alert wait for the dial's outcome.
    /// </summary>
    AwaitingDial,
}

/// <summary>A new lead from the carrier: a call, or a text (<see cref="LeadKinds"/>) to a tracking number.</summary>
[GenerateSerializer, Alias("callmesh.InboundCall")]
public sealed record InboundCall(
    [property: Id(0)] string AccountSid,
    [property: Id(1)] string From,
    [property: Id(2)] string To,
    [property: Id(3)] DateTime StartedAt,
    [property: Id(4)] string Kind = LeadKinds.Call);

/// <summary>What reached a tracking number: a call, or a text message (recorded, attributed and counted like a call, never missed).</summary>
public static class LeadKinds
{
    public const string Call = "call", Text = "text";
}

/// <summary>
/// What to do with the call: <c>Action</c> "dial" (to <c>DialTo</c>), "reject" (a blocked caller) or
/// "not-in-service" (a number with no owner and no fail-safe). <c>Route</c> says why. <c>TextTo</c>: where the location
/// wants texts to its numbers forwarded (a mobile number), if anywhere.
/// </summary>
[GenerateSerializer, Alias("callmesh.CallRouting")]
public sealed record CallRouting(
    [property: Id(0)] string Action,
    [property: Id(1)] string Route,
    [property: Id(2)] string? DialTo,
    [property: Id(3)] string CallerId,
    [property: Id(4)] bool Record,
    [property: Id(5)] string? RecordingNotice,
    [property: Id(6)] List<DialStep>? Steps = null,
    [property: Id(7)] bool Voicemail = false,
    [property: Id(8)] string? Whisper = null,
    [property: Id(9)] string? TextTo = null)
{
    /// <summary>The steps to ring in order: a routing written before ring strategies rang <c>DialTo</c> alone.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public List<DialStep> StepsInOrder => Steps is { Count: > 0 } steps ? steps
        : DialTo is { } number ? [new DialStep([number], DialStep.DefaultTimeoutSeconds)] : [];
}

/// <summary>Numbers that ring together, for so long; step numbers count from 1 in webhooks and on the call.</summary>
[GenerateSerializer, Alias("callmesh.DialStep")]
public sealed record DialStep(
    [property: Id(0)] List<string> Numbers,
    [property: Id(1)] int TimeoutSeconds)
{
    public const int DefaultTimeoutSeconds = 25;
}

/// <summary>
/// A carrier delivery about a call, already made carrier-neutral. <c>Key</c> identifies the delivery
/// (leg + sequence number), so a repeat is recognised; <c>Leg</c>: "inbound" (the caller's leg),
/// "dialed" (the forwarded leg), "dial-result" (the dial action), "voicemail" (the caller's message was recorded).
/// <c>Step</c>: which ring step a dialed leg or dial result is of; <c>Continues</c>: the dial result led to another
/// step or to voicemail, so the call goes on.
/// </summary>
[GenerateSerializer, Alias("callmesh.CallEvent")]
public sealed record CallEvent(
    [property: Id(0)] string Key,
    [property: Id(1)] string Leg,
    [property: Id(2)] string Status,
    [property: Id(3)] int? DurationSeconds,
    [property: Id(4)] string? RecordingUrl,
    [property: Id(5)] bool? Bridged = null,
    [property: Id(6)] int? Step = null,
    [property: Id(7)] bool Continues = false);

[GenerateSerializer, Alias("callmesh.CallOutcome")]
public sealed record CallOutcome(
    [property: Id(0)] string? Outcome,
    [property: Id(1)] decimal? Value,
    [property: Id(2)] string? Currency,
    [property: Id(3)] string? ExternalId,
    [property: Id(4)] string? Notes = null);

[GenerateSerializer, Alias("callmesh.OutcomeResult")]
public sealed record OutcomeResult(
    [property: Id(0)] bool Found,
    [property: Id(1)] Dictionary<string, string[]> Errors,
    [property: Id(2)] CallRecord? Call);

/// <summary>
/// Who gets the credit, and how sure that is: <c>Match</c> is "live", "afterRelease", "ambiguous", "overflow", "static",
/// "callerHistory" or "none" (docs/attribution.md). An ambiguous call credits no session and keeps its <c>Candidates</c>.
/// </summary>
[GenerateSerializer, Alias("callmesh.CallAttribution")]
public sealed record CallAttribution(
    [property: Id(0)] string NumberKind,
    [property: Id(1)] string? PoolId,
    [property: Id(2)] string? StaticKey,
    [property: Id(3)] string? LocationId,
    [property: Id(4)] string Source,
    [property: Id(5)] string Medium,
    [property: Id(6)] string? Campaign,
    [property: Id(7)] string? Keyword,
    [property: Id(8)] string? Gclid,
    [property: Id(9)] string? LandingPage,
    [property: Id(10)] Guid? VisitorId,
    [property: Id(11)] Guid? SessionId,
    [property: Id(12)] bool IsTest,
    [property: Id(13)] string Match = MatchKinds.None,
    [property: Id(14)] double? SecondsSinceRelease = null,
    [property: Id(15)] List<MatchCandidate>? Candidates = null,
    [property: Id(16)] Visitors.ClickIds? ClickIds = null);

/// <summary>How a call's credit was decided (docs/attribution.md): stored in callmesh.calls.match, filtered on by the calls API.</summary>
public static class MatchKinds
{
    public const string Live = "live", AfterRelease = "afterRelease", Ambiguous = "ambiguous", Overflow = "overflow",
        Static = "static", CallerHistory = "callerHistory", None = "none";

    public static readonly string[] All = [Live, AfterRelease, Ambiguous, Overflow, Static, CallerHistory, None];
}

/// <summary>A hold an ambiguous call may belong to.</summary>
[GenerateSerializer, Alias("callmesh.MatchCandidate")]
public sealed record MatchCandidate(
    [property: Id(0)] Guid VisitorId,
    [property: Id(1)] Guid SessionId,
    [property: Id(2)] string? LocationId,
    [property: Id(3)] DateTime LeasedAt,
    [property: Id(4)] DateTime? ReleasedAt);

/// <summary>A call as callmesh.calls holds it.</summary>
[GenerateSerializer, Alias("callmesh.CallRecord")]
public sealed record CallRecord
{
    [Id(0)] public required string CallId { get; init; }
    [Id(1)] public required string TenantId { get; init; }
    [Id(2)] public required string AccountSid { get; init; }
    [Id(3)] public required string TrackingNumber { get; init; }
    [Id(4)] public required string Caller { get; init; }
    [Id(5)] public required DateTime StartedAt { get; init; }
    [Id(6)] public DateTime? EndedAt { get; init; }
    [Id(7)] public required string Status { get; init; }
    [Id(8)] public bool Answered { get; init; }
    [Id(9)] public int DurationSeconds { get; init; }
    [Id(10)] public int TalkSeconds { get; init; }
    [Id(11)] public string? RecordingUrl { get; init; }
    [Id(12)] public required CallRouting Routing { get; init; }
    [Id(13)] public required CallAttribution Attribution { get; init; }
    [Id(14)] public bool FirstTime { get; init; }
    [Id(15)] public bool FirstTimeForLocation { get; init; }
    [Id(16)] public bool WithinHours { get; init; }
    [Id(17)] public bool Qualified { get; init; }
    [Id(18)] public List<string> MetRules { get; init; } = [];
    [Id(19)] public string? Outcome { get; init; }
    [Id(20)] public decimal? Value { get; init; }
    [Id(21)] public string? Currency { get; init; }
    [Id(22)] public string? OutcomeExternalId { get; init; }
    [Id(23)] public List<string> AppliedEvents { get; init; } = [];
    /// <summary>Days since this caller's previous call to the tenant (null: none before).</summary>
    [Id(24)] public double? DaysSincePreviousCall { get; init; }
    /// <summary>The day the call started in its location's time zone (UTC without a location): its reporting day.</summary>
    [Id(25)] public DateOnly LocalDay { get; init; }
    /// <summary>The day reports count the call on: its local day, or its UTC day for a record written before local days were kept.</summary>
    public DateOnly ReportingDay => LocalDay == default ? DateOnly.FromDateTime(StartedAt) : LocalDay;
    /// <summary>The visitor's touches up to the call, oldest first; the last is the call's own attribution.</summary>
    [Id(26)] public List<Reports.CallTouch> Touches { get; init; } = [];
    /// <summary>Counts the record's saves, so rollups keep the newest contribution whatever order notices arrive in.</summary>
    [Id(27)] public int Revision { get; init; }
    /// <summary>What the location or the CRM noted about the call with its outcome (a person's words: shown as text).</summary>
    [Id(28)] public string? Notes { get; init; }
    /// <summary>Where the location is with calling a missed caller back (<see cref="FollowUps"/>); null: not set.</summary>
    [Id(29)] public string? FollowUp { get; init; }
    /// <summary>The ring step whose number answered (1 = the first); null while nobody has.</summary>
    [Id(30)] public int? AnsweredByStep { get; init; }
    /// <summary>How long the caller waited before someone answered: the call's length less the talk time.</summary>
    [Id(31)] public int? RingSeconds { get; init; }
    /// <summary>Nobody answered and the caller left a message (<c>RecordingUrl</c> is the message).</summary>
    [Id(32)] public bool Voicemail { get; init; }
    /// <summary>A call or a text (<see cref="LeadKinds"/>).</summary>
    [Id(33)] public string Kind { get; init; } = LeadKinds.Call;
    /// <summary>A blocked caller's call, or one of a caller's repeated very short calls (the tenant's spam rules): never qualified.</summary>
    [Id(34)] public bool Spam { get; init; }
    /// <summary>
    /// Whether the forwarded leg answered is known: a dial result that ended the dialing, a voicemail, an answer, the last
    /// number's own end, or nothing was dialed. Until then an ended call is not yet reported completed or missed.
    /// </summary>
    [Id(35)] public bool DialEnded { get; init; }

    /// <summary>Over, with its outcome known: what call.completed and call.missed report.</summary>
    public bool Settled => EndedAt is not null && DialEnded;

    /// <summary>Missed: it ended without anyone answering (a test call is nobody's to call back).</summary>
    public bool Missed => Kind == LeadKinds.Call && !Answered && EndedAt is not null && !Attribution.IsTest;
}

/// <summary>A missed call's follow-up: open until the location calls back, handled when nothing more is to be done.</summary>
public static class FollowUps
{
    public const string Open = "open";
    public const string CalledBack = "calledBack";
    public const string Handled = "handled";
    public static readonly string[] All = [Open, CalledBack, Handled];
}
