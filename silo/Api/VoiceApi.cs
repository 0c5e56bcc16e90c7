using System.Text.RegularExpressions;
using CallMesh.Calls;
using CallMesh.Carriers;
using CallMesh.Common;
using CallMesh.Silo.Calls;
using CallMesh.Silo.Carriers;
using CallMesh.Silo.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// The carrier's webhooks (Twilio; SignalWire speaks the same form and signature). Each is signed with
/// the carrier account's auth token; a missing or wrong signature is 403 and stores nothing. Every delivery is
/// journaled before it is answered (CallJournal); the inbound webhook's answer comes from the silo's memory.
/// </summary>
public static partial class VoiceApi
{
    public const int MaxFormBytes = 16 * 1024;

    [GeneratedRegex("^(CA|[A-Z]{2})[0-9A-Za-z]{8,64}$")]
    private static partial Regex CallSidPattern();

    public static RouteGroupBuilder MapVoiceApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/voice/{carrier:regex(^(twilio|signalwire)$)}").WithTags("Carrier webhooks").DisableAntiforgery();
        group.MapPost("/inbound", Inbound).Produces<string>(StatusCodes.Status200OK, "text/xml")
            .WithSummary("Inbound call (form-encoded, signed): answers TwiML routing it at once; records and attributes it behind the answer.");
        group.MapPost("/status", Status)
            .WithSummary("Call progress of the caller's or the forwarded leg; journaled, then applied once whatever the order of deliveries.");
        group.MapPost("/dial-action", DialAction).Produces<string>(StatusCodes.Status200OK, "text/xml")
            .WithSummary("A ring step's result (answered or not, talk time, recording); journaled; answers the next step's dial, voicemail " +
                         "or a goodbye when nobody answered, else a hang-up.");
        group.MapPost("/voicemail", Voicemail).Produces<string>(StatusCodes.Status200OK, "text/xml")
            .WithSummary("The caller's message was recorded (the voicemail's Record action); journaled; answers a hang-up.");
        group.MapPost("/sms", Sms).Produces<string>(StatusCodes.Status200OK, "text/xml")
            .WithSummary("A text to a tracking number (form-encoded, signed): recorded and attributed like a call, as a lead of kind text; " +
                         "answered with a <Message> that forwards it to the location's textForwardTo, if it has one.");
        group.MapPost("/whisper", Whisper).Produces<string>(StatusCodes.Status200OK, "text/xml")
            .WithSummary("What the answering person hears before the caller is put through: the location's whisper, with the call's source.");
        return group;
    }

    public static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> Inbound(string carrier, HttpContext http,
        CarrierAccounts accounts, RoutingSnapshot snapshot, IConfiguration configuration, WebhookLimits limits, InboundRouter router,
        CallJournal journal, TimeProvider clock, CallMeshMetrics metrics)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (webhook, problem) = await Verify(http, accounts, snapshot, configuration, limits);
        if (problem is not null) return problem;
        var (callSid, from, to, invalid) = NewLead(webhook!.Form, "CallSid");
        if (invalid is not null) return invalid;

        // The caller is waiting: route from memory, make the start durable here, and let the grain record,
        // attribute and roll it up behind the answer (CallJournal).
        var inbound = new InboundCall(webhook.Account.AccountSid, from!, to!, Microseconds(clock.GetUtcNow().UtcDateTime));
        var routing = await router.RouteAsync(webhook.Account.TenantId, inbound);
        await journal.AppendStartAsync(webhook.Account.TenantId, callSid!, inbound, routing);
        metrics.VoiceAnswer.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("carrier", carrier));
        return TypedResults.Text(TwiML.Answer(routing, $"{webhook.BaseUrl}/v1/voice/{carrier}"), TwiML.ContentType);
    }

    public static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> Sms(HttpContext http, CarrierAccounts accounts,
        RoutingSnapshot snapshot, IConfiguration configuration, WebhookLimits limits, InboundRouter router, CallJournal journal, TimeProvider clock)
    {
        var (webhook, problem) = await Verify(http, accounts, snapshot, configuration, limits);
        if (problem is not null) return problem;
        var (messageSid, from, to, invalid) = NewLead(webhook!.Form, "MessageSid");
        if (invalid is not null) return invalid;

        // Like a call: routed from memory (which location, whether the sender is blocked), durable before the answer, and
        // recorded and attributed behind it.
        var inbound = new InboundCall(webhook.Account.AccountSid, from!, to!, Microseconds(clock.GetUtcNow().UtcDateTime), LeadKinds.Text);
        var routing = await router.RouteAsync(webhook.Account.TenantId, inbound);
        await journal.AppendStartAsync(webhook.Account.TenantId, messageSid!, inbound, routing);
        var forward = routing.Action == "reject" ? null : routing.TextTo;
        return TypedResults.Text(TwiML.ForwardText(forward, from!, webhook.Form["Body"].ToString()), TwiML.ContentType);
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> Status(HttpContext http, CarrierAccounts accounts,
        RoutingSnapshot snapshot, IConfiguration configuration, WebhookLimits limits, CallJournal journal)
    {
        var (webhook, problem) = await Verify(http, accounts, snapshot, configuration, limits);
        if (problem is not null) return problem;
        var form = webhook!.Form;
        var errors = new ValidationErrors();
        var callSid = CallSid(errors, "CallSid", form["CallSid"]);
        var parent = form["ParentCallSid"].ToString() is { Length: > 0 } p ? CallSid(errors, "ParentCallSid", p) : null;
        var status = errors.Required("CallStatus", form["CallStatus"]);
        var duration = OptionalSeconds(errors, "CallDuration", form["CallDuration"]);
        var sequence = OptionalSeconds(errors, "SequenceNumber", form["SequenceNumber"]);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        // Our <Dial> asks for the forwarded leg's callbacks (ParentCallSid = the inbound call); the number's
        // own status callback reports the caller's leg.
        var leg = parent is null ? "inbound" : "dialed";
        var delivery = new CallEvent($"{leg}:{callSid}:{(sequence is { } s ? s.ToString() : status)}", leg, status!, duration,
            Url(form["RecordingUrl"]), Step: parent is null ? null : TwiML.StepOf(http.Request.Query["step"]));
        await journal.AppendEventAsync(webhook.Account.TenantId, parent ?? callSid!, delivery);
        return TypedResults.NoContent();
    }

    public static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> DialAction(string carrier, HttpContext http,
        CarrierAccounts accounts, RoutingSnapshot snapshot, IConfiguration configuration, WebhookLimits limits, InboundRouter router,
        CallJournal journal, TimeProvider clock)
    {
        var (webhook, problem) = await Verify(http, accounts, snapshot, configuration, limits);
        if (problem is not null) return problem;
        var form = webhook!.Form;
        var errors = new ValidationErrors();
        var callSid = CallSid(errors, "CallSid", form["CallSid"]);
        var status = errors.Required("DialCallStatus", form["DialCallStatus"]);
        var duration = OptionalSeconds(errors, "DialCallDuration", form["DialCallDuration"]);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        // Answered, or the caller hung up while it rang: the call is over. Nobody answered (no-answer, busy, failed):
        // the next step of the same strategy rings, from memory as the first did; after the last, voicemail or a goodbye.
        var step = TwiML.StepOf(http.Request.Query["step"]) ?? 1;
        var bridged = bool.TryParse(form["DialBridged"], out var b) ? b : (bool?)null;
        var unanswered = TwiML.Unanswered(status, bridged);
        var routing = unanswered && form["From"].ToString() is { Length: > 0 } from && form["To"].ToString() is { Length: > 0 } to
            ? await router.RouteAsync(webhook.Account.TenantId, new InboundCall(webhook.Account.AccountSid, from, to, clock.GetUtcNow().UtcDateTime),
                open: http.Request.Query["route"] == "open")
            : null;
        var continues = routing is { Action: "dial" } && (step < routing.StepsInOrder.Count || routing.Voicemail);
        var delivery = new CallEvent($"dial-result:{callSid}:{step}", "dial-result", status!, duration, Url(form["RecordingUrl"]), bridged, step, continues);
        await journal.AppendEventAsync(webhook.Account.TenantId, callSid!, delivery);
        var answer = routing is null ? TwiML.HangUp() : TwiML.AfterUnanswered(routing, step, $"{webhook.BaseUrl}/v1/voice/{carrier}");
        return TypedResults.Text(answer, TwiML.ContentType);
    }

    public static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> Voicemail(HttpContext http, CarrierAccounts accounts,
        RoutingSnapshot snapshot, IConfiguration configuration, WebhookLimits limits, CallJournal journal)
    {
        var (webhook, problem) = await Verify(http, accounts, snapshot, configuration, limits);
        if (problem is not null) return problem;
        var form = webhook!.Form;
        var errors = new ValidationErrors();
        var callSid = CallSid(errors, "CallSid", form["CallSid"]);
        var seconds = OptionalSeconds(errors, "RecordingDuration", form["RecordingDuration"]);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        // A caller who hangs up at the tone leaves no message: the call stays a plain missed call.
        var url = Url(form["RecordingUrl"]);
        var left = url is not null && seconds is not 0;
        var delivery = new CallEvent($"voicemail:{callSid}", "voicemail", left ? "recorded" : "empty", seconds, left ? url : null);
        await journal.AppendEventAsync(webhook.Account.TenantId, callSid!, delivery);
        return TypedResults.Text(TwiML.HangUp(), TwiML.ContentType);
    }

    /// <summary>
    /// The whisper for a dialed number that answered (the carrier asks with the dialed leg's sid and its parent's): the
    /// location's words with {source}, {campaign} and {location} filled from the call when it is at hand within a moment
    /// (the caller is waiting on the bridge), else without them.
    /// </summary>
    public static async Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> Whisper(HttpContext http, CarrierAccounts accounts,
        RoutingSnapshot snapshot, IConfiguration configuration, WebhookLimits limits, GrainReferences references)
    {
        var (webhook, problem) = await Verify(http, accounts, snapshot, configuration, limits);
        if (problem is not null) return problem;
        var errors = new ValidationErrors();
        var parent = CallSid(errors, "ParentCallSid", webhook!.Form["ParentCallSid"]);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        CallRecord? call = null;
        try { call = await references.Get<ICallGrain>(TenantKey.For(webhook.Account.TenantId, parent!)).Get().WaitAsync(InboundRouter.Patience); }
        catch (Exception e) when (e is not OutOfMemoryException) { }
        if (call?.Routing.Whisper is not { } words) return TypedResults.Text(TwiML.Whisper(""), TwiML.ContentType);
        var a = call.Attribution;
        var text = words.Replace("{source}", a.Source).Replace("{campaign}", a.Campaign ?? "").Replace("{location}", a.LocationId ?? "");
        return TypedResults.Text(TwiML.Whisper(text), TwiML.ContentType);
    }

    /// <summary>A new call's or text's id (<paramref name="sidField"/>), sender and tracking number, or the problem with them.</summary>
    private static (string? Sid, string? From, string? To, ValidationProblem? Problem) NewLead(IFormCollection form, string sidField)
    {
        var errors = new ValidationErrors();
        var sid = CallSid(errors, sidField, form[sidField]);
        var from = errors.Required("From", form["From"]);
        var to = errors.Required("To", form["To"]);
        if (to is not null && Rules.PhoneNumberError(to) is { } error) errors.Add("To", error);
        return (sid, from, to, errors.Any ? Problems.Invalid(errors.ToDictionary()) : null);
    }

    private sealed record Webhook(CarrierAccount Account, IFormCollection Form, string BaseUrl);

    /// <summary>Reads the form and checks its signature against the account's auth token: 403 when it does not match.</summary>
    private static async Task<(Webhook?, ProblemHttpResult?)> Verify(HttpContext http, CarrierAccounts accounts, RoutingSnapshot snapshot, IConfiguration configuration,
        WebhookLimits limits)
    {
        if (!http.Request.HasFormContentType)
            return (null, Problems.Problem(StatusCodes.Status415UnsupportedMediaType, "malformed-request", "Carrier webhooks are application/x-www-form-urlencoded."));
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = MaxFormBytes;
        var form = await http.Request.ReadFormAsync();
        if (StorableText.Holds(form)) return (null, Problems.Problem(StatusCodes.Status400BadRequest, "malformed-request", StorableText.Title));
        var forbidden = Problems.Problem(StatusCodes.Status403Forbidden, "invalid-signature", "The webhook's signature does not match.");
        // The snapshot knows every account; only one added since its last reload is looked up.
        if (form["AccountSid"].ToString() is not { Length: > 0 } accountSid
            || (snapshot.Current?.Accounts.GetValueOrDefault(accountSid) ?? await OpenableAsync(accounts, accountSid)) is not { } account)
            return (null, forbidden);
        var baseUrl = PublicBaseUrl(http, configuration);
        var url = baseUrl + (http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? $"{http.Request.Path}{http.Request.QueryString}");
        var parameters = form.SelectMany(f => f.Value.Select(v => new KeyValuePair<string, string>(f.Key, v ?? "")));
        var signature = http.Request.Headers["X-Twilio-Signature"];
        bool SignedWith(string token) => TwilioSignature.IsValid(token, url, parameters, signature);
        if (SignedWith(account.AuthToken))
        {
            if (limits.Refuse(http, accountSid) is { } refused) return (null, refused);
            accounts.Proven(accountSid);   // the carrier signed with this token: the account is its holder's (behind the answer)
            return (new Webhook(account, form, baseUrl), null);
        }
        // Not the holder's token: perhaps another tenant's waiting claim, which the carrier has just proven (rare; a lookup).
        if (!limits.ClaimLookups.Allows(accountSid)) return (null, forbidden);
        try
        {
            if (await accounts.ProveClaimAsync(accountSid, SignedWith) is { } proven) return (new Webhook(proven, form, baseUrl), null);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or System.Security.Cryptography.CryptographicException) { }
        return (null, forbidden);
    }

    /// <summary>An account this silo can open the token of; one it cannot (a key it lacks) is refused like an unknown one.</summary>
    private static async Task<CarrierAccount?> OpenableAsync(CarrierAccounts accounts, string accountSid)
    {
        try { return await accounts.FindAsync(accountSid); }
        catch (System.Security.Cryptography.CryptographicException) { return null; }
    }

    /// <summary>
    /// The scheme and host the carrier called: CALLMESH_PUBLIC_BASE_URL when set (the address configured at
    /// the carrier), else what the gateway forwards (X-Forwarded-Proto/-Host, believed there only from
    /// trusted proxies), else this request's own.
    /// </summary>
    internal static string PublicBaseUrl(HttpContext http, IConfiguration configuration)
    {
        if (configuration["PUBLIC_BASE_URL"] is { Length: > 0 } configured) return configured.TrimEnd('/');
        static string? Last(string value) => value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        var scheme = Last(http.Request.Headers["X-Forwarded-Proto"].ToString()) ?? http.Request.Scheme;
        var host = Last(http.Request.Headers["X-Forwarded-Host"].ToString()) ?? http.Request.Host.Value;
        return $"{scheme}://{host}";
    }

    private static string? CallSid(ValidationErrors errors, string field, string? value)
    {
        if (errors.Required(field, value) is not { } sid) return null;
        if (CallSidPattern().IsMatch(sid)) return sid;
        errors.Add(field, "must be the carrier's call SID (e.g. CA followed by 32 hex digits).");
        return null;
    }

    private static int? OptionalSeconds(ValidationErrors errors, string field, string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        if (int.TryParse(value, out var n) && n is >= 0 and <= 1_000_000) return n;
        errors.Add(field, "must be a whole number from 0.");
        return null;
    }

    /// <summary>PostgreSQL keeps microseconds: the grain's copy and the stored row must be the same instant.</summary>
    private static DateTime Microseconds(DateTime at) => new(at.Ticks - at.Ticks % 10, DateTimeKind.Utc);

    private static string? Url(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && value!.Length <= 2048 ? value : null;
}
