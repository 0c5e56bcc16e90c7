using CallMesh.Common;
using CallMesh.Dni;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Pools;
using CallMesh.Reports;
using CallMesh.Tenants;
using CallMesh.Visitors;

namespace CallMesh.Calls;

/// <summary>
/// A call's lifecycle. The record lives in callmesh.calls (read through <see cref="CallStore"/>, written through
/// <see cref="CallWriter"/>), behind the carrier's answer (the call journal); deliveries merge into it in an order-independent way: statuses only move
/// forward, "answered" and durations only grow, and each delivery is applied once.
/// </summary>
// Deliveries come in bursts (answer, ring, end, an outcome later): between bursts the row is the call's memory.
[CollectionAgeLimit(Minutes = 5)]
public sealed class CallGrain(CallStore store, CallStartReader reader, CallWriter writer, GrainReferences references) : Grain, ICallGrain
{
    private static readonly string[] Terminal = ["completed", "busy", "no-answer", "failed", "canceled"];
    private static readonly string[] Progress = ["queued", "initiated", "ringing", "in-progress"];

    private CallRecord? _call;
    private bool _loaded;

    private (string TenantId, string CallId) Key => TenantKey.Parse(this.GetPrimaryKeyString());

    private async Task<CallRecord?> Load()
    {
        if (!_loaded)
        {
            _call = await store.LoadAsync(Key.TenantId, Key.CallId);
            _loaded = true;
        }
        return _call;
    }

    public Task<CallRecord?> Get() => Load();

    public async Task<CallRouting> Start(InboundCall inbound, CallRouting? routed = null)
    {
        // A retried webhook finds the call in memory, or (after a new activation) its row when we write ours below.
        if (_call is { } known) return known.Routing;

        var tenantId = Key.TenantId;
        var tenantTask = references.Get<ITenantGrain>(tenantId).Get();
        // What the number is, who held it (that matters only for a pool number) and the caller's history: one read.
        var (number, held, stored) = await reader.ReadAsync(tenantId, inbound.To, inbound.StartedAt, inbound.From);
        var holds = held.Where(h => h.TenantId == tenantId).ToList();
        var match = number is { Use: "pool", PoolId: { } poolId }
            ? HoldMatch.Find(holds, inbound.StartedAt, await references.Get<INumberPoolGrain>(TenantKey.For(tenantId, poolId)).LateCallRules())
            : HoldMatch.None;
        // A brand-wide pool's call goes to its holder's location; an ambiguous one to the newest holder's, as it was routed.
        var locationId = number?.Use is "pool" or "static" or "overflow"
            ? (match.Credited ?? match.Candidates.FirstOrDefault())?.LocationId ?? number.LocationId
            : null;

        // The caller is waiting: the visitor's touches, the location and the caller's history are asked for at once.
        var credited = match.Credited is { } hold ? new CallerVisit(hold.VisitorId, hold.SessionId, inbound.StartedAt) : null;
        var attributionTask = Attribute(number, match, locationId, inbound);
        var locationTask = locationId is null ? Task.FromResult<LocationSnapshot?>(null)
            : references.Get<ILocationGrain>(TenantKey.For(tenantId, locationId)).Get();
        var callerTask = references.New<ICallerGrain>(TenantKey.For(tenantId, inbound.From))
            .RecordCall(Key.CallId, locationId, inbound.StartedAt, credited, stored);
        var (attribution, touches) = await attributionTask;
        var location = (await locationTask)?.Config;
        var caller = await callerTask;
        var tenant = (await tenantTask)?.Config;
        // A known caller whose call matched no session: credited to the visit of their earlier call, when the tenant allows it.
        if (number?.Use is "pool" or "overflow" && attribution.SessionId is null && tenant?.CallerHistoryDays is { } days
            && caller.PreviousVisit is { } earlier && inbound.StartedAt - earlier.CallAt <= TimeSpan.FromDays(days))
            (attribution, touches) = await FromVisit(attribution, earlier.VisitorId, earlier.SessionId, inbound,
                attribution with { Match = MatchKinds.CallerHistory, SecondsSinceRelease = null, Candidates = null });
        var open = location is not null && BusinessHours.IsOpen(location, inbound.StartedAt);

        var routing = routed ?? CallRouter.Route(inbound, tenant, location, open, caller.Blocked);
        var call = new CallRecord
        {
            CallId = Key.CallId, TenantId = tenantId, AccountSid = inbound.AccountSid, TrackingNumber = inbound.To, Caller = inbound.From,
            StartedAt = inbound.StartedAt, Kind = inbound.Kind,
            // A text arrives whole: received and over at once (it is never answered, so never missed either).
            Status = inbound.Kind == LeadKinds.Text ? "received" : "ringing", EndedAt = inbound.Kind == LeadKinds.Text ? inbound.StartedAt : null,
            Routing = routing, DialEnded = inbound.Kind == LeadKinds.Text || routing.Action != "dial",
            Attribution = attribution,
            FirstTime = caller.FirstTime, FirstTimeForLocation = caller.FirstTimeForLocation, WithinHours = open, Spam = caller.Blocked,
            DaysSincePreviousCall = caller.PreviousCallAt is { } previous ? (inbound.StartedAt - previous).TotalDays : null,
            LocalDay = LocalDay(inbound.StartedAt, location?.TimeZone), Touches = touches,
        };
        // No read first (a new call has no row): the insert adds the call to its location's rollups in the same transaction.
        call = Qualify(call, location?.ConversionRules ?? tenant?.DefaultConversionRules) with { Revision = 1 };
        if (!await writer.InsertAsync(call))
        {
            _loaded = false;
            // The first delivery of this webhook wrote the row: answer as it was answered.
            return (await Load())?.Routing ?? throw new InvalidOperationException($"Call {Key.CallId} belongs to another tenant.");
        }
        (_call, _loaded) = (call, true);
        // The pool counts its calls by match and sizes its rest from their delays (one-way: nothing here waits for it).
        if (number is { PoolId: { } countingPool } && number.Use is "pool" or "overflow")
            references.Get<INumberPoolGrain>(TenantKey.For(tenantId, countingPool)).ObserveCall(new CallObservation(
                inbound.To, attribution.Match, inbound.StartedAt, match.Credited?.VisitorId, match.Credited?.LastSeenAt)).Ignore();
        return call.Routing;
    }

    /// <summary>
    /// Who gets the credit. A pool number: the session whose hold the call matched (<see cref="HoldMatch"/>), with that
    /// session's touch; ambiguous or unmatched, the number's location with the source unknown. A static number: its medium,
    /// source and campaign. An overflow number: its location, source unknown. Never a guess.
    /// </summary>
    private async Task<(CallAttribution, List<CallTouch>)> Attribute(TrackingNumber? number, HoldMatch match, string? locationId, InboundCall inbound)
    {
        switch (number?.Use)
        {
            case "static":
                return (new CallAttribution("static", null, number.StaticKey, locationId, number.Source ?? number.Medium ?? "offline",
                    number.Medium ?? "offline", number.Campaign, null, null, null, null, null, false, MatchKinds.Static), []);
            case "overflow":
                return (new CallAttribution("overflow", number.PoolId, null, locationId, "overflow", "unknown", null, null, null, null, null, null,
                    false, MatchKinds.Overflow), []);
            case "pool":
                var ambiguous = match.Kind == MatchKinds.Ambiguous;
                var unknown = new CallAttribution("pool", number.PoolId, null, locationId, "unknown", ambiguous ? "reused" : "unleased",
                    null, null, null, null, null, null, false, match.Kind, match.SecondsSinceRelease,
                    ambiguous
                        ? [.. match.Candidates.Select(c => new MatchCandidate(c.VisitorId, c.SessionId, c.LocationId, c.LeasedAt, c.ReleasedAt))]
                        : null);
                return match.Credited is { } held
                    ? await FromVisit(unknown, held.VisitorId, held.SessionId, inbound, unknown)
                    : (unknown, []);
            default:
                return (new CallAttribution(number is null ? "unknown" : "unassigned", null, null, null, "unknown", "unknown",
                    null, null, null, null, null, null, false), []);
        }
    }

    /// <summary>Credit to one visitor's session: its last touch (or the visitor's last before the call) and the path of earlier touches.</summary>
    private async Task<(CallAttribution, List<CallTouch>)> FromVisit(CallAttribution fallback, Guid visitorId, Guid sessionId,
        InboundCall inbound, CallAttribution basis)
    {
        var history = await references.New<IVisitorGrain>(TenantKey.For(Key.TenantId, visitorId.ToString())).History();
        if (history.Sessions.Count == 0) return (fallback, []);
        var touch = history.Touches.Where(t => t.SessionId == sessionId).MaxBy(t => t.At)
                    ?? history.Touches.Where(t => t.At <= inbound.StartedAt).MaxBy(t => t.At);
        var isTest = history.Sessions.Any(s => s.SessionId == sessionId && s.IsTest);
        // The path for multi-touch models: earlier touches up to the call, then the session's own touch.
        List<CallTouch> path = [.. history.Touches.Where(t => touch is not null && t.At < touch.At).OrderBy(t => t.At).TakeLast(49)
            .Select(t => new CallTouch(t.At, t.Source, t.Medium, t.Campaign, t.Keyword))];
        if (touch is not null) path.Add(new CallTouch(touch.At, touch.Source, touch.Medium, touch.Campaign, touch.Keyword));
        return (basis with
        {
            Source = touch?.Source ?? "direct",
            Medium = touch?.Medium ?? "none",
            Campaign = touch?.Campaign,
            Keyword = touch?.Keyword,
            Gclid = touch?.ClickIds.Gclid,
            ClickIds = touch?.ClickIds is { Any: true } ids ? ids : null,
            LandingPage = touch?.LandingPage,
            VisitorId = visitorId,
            SessionId = sessionId,
            IsTest = isTest,
        }, path);
    }

    public async Task<Applied> Apply(CallEvent delivery)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (await Load() is not { } call) return Applied.UnknownCall;
            // A repeated delivery changes nothing.
            if (call.AppliedEvents.Contains(delivery.Key) || await Save(await Qualify(await JudgeSpam(Merge(call, delivery)))))
                return _call!.EndedAt is not null && !_call.DialEnded ? Applied.AwaitingDial : Applied.Done;
            if (attempt == 2) throw new InvalidOperationException($"Call {Key.CallId} kept changing under this delivery; the journal will retry it.");
        }
    }

    public async Task<bool> Settle()
    {
        for (var attempt = 0; ; attempt++)
        {
            if (await Load() is not { } call) return false;
            if (call.DialEnded || await Save(call with { DialEnded = true })) return true;
            if (attempt == 2) throw new InvalidOperationException($"Call {Key.CallId} kept changing while it was settled; the journal will retry it.");
        }
    }

    /// <summary>The call with <paramref name="delivery"/> applied: the same result in any order of deliveries.</summary>
    private static CallRecord Merge(CallRecord call, CallEvent delivery)
    {
        var answeredNow = delivery switch
        {
            { Leg: "dial-result" } => delivery.Status is "completed" or "answered" || delivery.Bridged == true,
            { Leg: "dialed" } => delivery.Status == "in-progress" || (delivery.Status == "completed" && delivery.DurationSeconds > 0),
            _ => false,
        };
        var status = delivery.Leg == "inbound" && Rank(delivery.Status) > Rank(call.Status) ? delivery.Status : call.Status;
        var duration = delivery.Leg == "inbound" ? Math.Max(call.DurationSeconds, delivery.DurationSeconds ?? 0) : call.DurationSeconds;
        var talk = delivery.Leg is "dialed" or "dial-result" ? Math.Max(call.TalkSeconds, delivery.DurationSeconds ?? 0) : call.TalkSeconds;
        // A dial result that led to another step or to voicemail does not end the call; a message left does.
        var ended = call.EndedAt is not null || Terminal.Contains(status) || (delivery.Leg == "dial-result" && !delivery.Continues)
                    || delivery.Leg == "voicemail";
        var voicemail = call.Voicemail || delivery is { Leg: "voicemail", Status: "recorded" };
        var answered = call.Answered || answeredNow;
        // Whether anyone answered is known from the dial's own reports, never from the caller's leg alone: its end may
        // arrive (through another silo) before the forwarded leg's answer.
        var dialEnded = call.DialEnded || answeredNow || delivery is { Leg: "dial-result", Continues: false } || delivery.Leg == "voicemail"
                        || (delivery.Leg == "dialed" && Terminal.Contains(delivery.Status) && RingsLast(call.Routing, delivery.Step ?? 1));
        return call with
        {
            Status = status,
            Answered = answered,
            // Only one step can answer (the carrier stops ringing at the first pick-up); the lowest wins a disagreement.
            AnsweredByStep = answeredNow && delivery.Step is { } step ? Math.Min(call.AnsweredByStep ?? step, step) : call.AnsweredByStep,
            DurationSeconds = duration,
            TalkSeconds = talk,
            // What the caller waited through before the talk: known once both lengths are.
            RingSeconds = answered && duration > 0 && talk > 0 ? Math.Max(0, duration - talk) : call.RingSeconds,
            Voicemail = voicemail,
            RecordingUrl = call.RecordingUrl ?? delivery.RecordingUrl,
            // Derived from the call itself, not from when a delivery arrived, so any order ends the same.
            EndedAt = ended ? call.StartedAt.AddSeconds(Math.Max(duration, talk)) : null,
            AppliedEvents = [.. call.AppliedEvents, delivery.Key],
            DialEnded = dialEnded,
        };
    }

    /// <summary>
    /// A dialed leg of <paramref name="step"/> ended: the dialing is over only when it was the last step's only number and
    /// no voicemail follows (otherwise another number may still answer, or the caller may leave a message).
    /// </summary>
    private static bool RingsLast(CallRouting routing, int step) =>
        routing.StepsInOrder is var steps && step >= steps.Count && (steps.Count == 0 || steps[^1].Numbers.Count == 1) && !routing.Voicemail;

    public Task Forget()
    {
        (_call, _loaded) = (null, false);
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    /// <summary>Terminal statuses outrank progress ones; among progress ones, later steps win.</summary>
    private static int Rank(string status) =>
        Terminal.Contains(status) ? 100 : Array.IndexOf(Progress, status) is var i and >= 0 ? i : -1;

    public async Task<OutcomeResult> SetOutcome(CallOutcome outcome)
    {
        if (await Load() is null) return new OutcomeResult(false, [], null);
        var currency = (await references.Get<ITenantGrain>(Key.TenantId).Get())?.Config.Currency;
        var errors = new ValidationErrors();
        if (!TenantRules.IsOutcome(outcome.Outcome)) errors.Add("outcome", $"must be one of {TenantRules.OutcomeList}.");
        if (outcome.Value is < 0 or > 100_000_000) errors.Add("value", "must be from 0 to 100000000.");
        if (outcome.Currency is { } c && c != currency) errors.Add("currency", $"must be the tenant's currency ({currency}).");
        if (outcome.ExternalId is { Length: > 200 }) errors.Add("externalId", "must be at most 200 characters.");
        if (outcome.Notes is { Length: > 2000 }) errors.Add("notes", "must be at most 2000 characters.");
        if (errors.Any) return new OutcomeResult(true, errors.ToDictionary(), null);
        for (var attempt = 0; ; attempt++)
        {
            if (await Load() is not { } call) return new OutcomeResult(false, [], null);
            // The CRM may deliver the same outcome more than once: one external id is applied once.
            if (outcome.ExternalId is not null && outcome.ExternalId == call.OutcomeExternalId) return new OutcomeResult(true, [], call);
            var updated = call with
            {
                Outcome = outcome.Outcome,
                Value = outcome.Value is { } v ? decimal.Round(v, 2) : null,
                Currency = outcome.Value is null ? null : currency,
                OutcomeExternalId = outcome.ExternalId,
                Notes = string.IsNullOrWhiteSpace(outcome.Notes) ? null : outcome.Notes.Trim(),
            };
            if (await Save(await Qualify(updated))) return new OutcomeResult(true, [], _call);
            if (attempt == 2) throw new InvalidOperationException($"Call {Key.CallId} kept changing under this outcome.");
        }
    }

    public async Task<CallRecord?> SetFollowUp(string followUp)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (await Load() is not { } call) return null;
            if (call.FollowUp == followUp || await Save(call with { FollowUp = followUp })) return _call;
            if (attempt == 2) throw new InvalidOperationException($"Call {Key.CallId} kept changing under this follow-up.");
        }
    }

    /// <summary>
    /// Once the caller's leg has ended (its length is known): a call shorter than the tenant's spam rules allow is spam when
    /// it is at least the caller's RepeatedCalls-th such call within the window. Judged on every change after the end, from
    /// the call's own length, so a length that grows later (a late callback) clears it again.
    /// </summary>
    private async Task<CallRecord> JudgeSpam(CallRecord call)
    {
        if (call.Kind != LeadKinds.Call || !Terminal.Contains(call.Status) || call.Routing.Action == "reject") return call;
        var rules = (await references.Get<ITenantGrain>(call.TenantId).Get())?.Config.SpamRules ?? new SpamRules();
        if (!rules.Enabled) return call with { Spam = false };
        var seconds = Math.Max(call.DurationSeconds, call.TalkSeconds);
        var shortCalls = await references.Get<ICallerGrain>(TenantKey.For(call.TenantId, call.Caller))
            .ShortCallsUpTo(call.CallId, seconds, rules.ShortCallSeconds, TimeSpan.FromHours(rules.WithinHours));
        return call with { Spam = seconds < rules.ShortCallSeconds && shortCalls >= rules.RepeatedCalls };
    }

    /// <summary>The location's conversion rules, else the tenant's default, applied to the call as it stands.</summary>
    private async Task<CallRecord> Qualify(CallRecord call)
    {
        // Rules are read when the call needs them (they may change between its start and its outcome).
        var rules = (call.Attribution.LocationId is { } locationId
                        ? (await references.Get<ILocationGrain>(TenantKey.For(call.TenantId, locationId)).Get())?.Config.ConversionRules
                        : null)
                    ?? (await references.Get<ITenantGrain>(call.TenantId).Get())?.Config.DefaultConversionRules;
        return Qualify(call, rules);
    }

    private static CallRecord Qualify(CallRecord call, ConversionRules? rules)
    {
        var (qualified, met) = Qualification.Evaluate(rules ?? new ConversionRules(), call);
        return call with { Qualified = qualified, MetRules = met };
    }

    /// <summary>
    /// The call's day in its location's time zone: rollups and reports count local days, so a call at
    /// 23:30 in Los Angeles is that day's call there even though it is the next day in UTC.
    /// </summary>
    private static DateOnly LocalDay(DateTime startedAtUtc, string? timeZone) =>
        DateOnly.FromDateTime(BusinessHours.LocalTime(timeZone, startedAtUtc));

    /// <summary>
    /// Writes the call as its next revision, with its rollup change, unless another writer (a rules rebuild) wrote a
    /// revision since this grain read it: then false, and the next <see cref="Load"/> reads the stored row again.
    /// </summary>
    private async Task<bool> Save(CallRecord call)
    {
        var before = _call ?? throw new InvalidOperationException($"Call {Key.CallId} is saved before it was loaded.");
        call = call with { Revision = before.Revision + 1 };
        if (!await writer.SaveAsync(before, call))
        {
            _loaded = false;
            return false;
        }
        _call = call;
        return true;
    }
}
