using System.Text.RegularExpressions;
using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Outbound;
using CallMesh.Silo.Database;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// Where a tenant's call events and conversions go (docs/outbound.md): webhooks, GA4 and Meta through the outbox; Google Ads
/// and Microsoft Ads as files they fetch. Brand admins only: location managers and analysts neither see nor change them.
/// </summary>
public static partial class DestinationsApi
{
    public sealed record DestinationBody(string? Kind, string? Name, string? Url, List<string>? Events, DestinationFilters? Filters,
        DestinationSettings? Settings, string? ApiSecret, string? AccessToken, string? State);

    public sealed record RotateBody(double? OverlapHours);

    public sealed record ReplayBody(string? EventId, DateTime? From, DateTime? To);

    public sealed record DestinationResource(string Id, string Kind, string Name, string? Url, List<string> Events, DestinationFilters Filters,
        DestinationSettings Settings, string State, string? StateReason, DateTime? StateChangedAt, DateTime? FailingSince,
        DateTime CreatedAt, DateTime UpdatedAt, int SigningSecrets, Dictionary<string, string>? FeedUrls)
    {
        /// <summary>Shown once, in the answer that created it (or rotated it); never stored anywhere a GET reads.</summary>
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public string? Secret { get; init; }
    }

    public sealed record DeliveryResource(string EventId, string Type, string CallId, DateTime OccurredAt, string State, int Attempts,
        int? LastStatus, string? LastError, DateTime? NextAttemptAt, DateTime? DeliveredAt);

    private const string Ga4Endpoint = "https://www.google-analytics.com/mp/collect", MetaEndpoint = "https://graph.facebook.com/v21.0";

    public static RouteGroupBuilder MapDestinationsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}").WithTags("Destinations").RequireAuthorization();
        group.MapPost("/destinations", Create)
            .WithSummary("Add a destination (brand-admin): webhook (answers its whsec_ secret once), ga4, meta, email (missed-call alerts to " +
                         "settings.to), or googleAds / microsoftAds (answers the scheduled-fetch URLs of their files once).");
        group.MapGet("/destinations", List).WithSummary("The tenant's destinations, never their secrets (brand-admin).");
        group.MapGet("/destinations/{id}", Get).WithSummary("One destination, with its state (active, paused, disabled and why).");
        group.MapPatch("/destinations/{id}", Patch)
            .WithSummary("Change a destination's name, url, events, filters, settings or credentials; state active or paused " +
                         "(active again after it was disabled).");
        group.MapDelete("/destinations/{id}", Delete).WithSummary("Remove a destination and its deliveries.");
        group.MapPost("/destinations/{id}/rotate-secret", Rotate)
            .WithSummary("A new webhook secret (answered once); the old one signs too for overlapHours (default 24, 0–168).");
        group.MapGet("/destinations/{id}/deliveries", Deliveries)
            .WithSummary("Deliveries newest first: event id, type, attempts, last status, next attempt, delivered at; cursor in `next`.");
        group.MapGet("/destinations/{id}/deliveries/{eventId}/attempts", Attempts)
            .WithSummary("Every attempt of one event: when, status, latency, error and the first 500 characters of the answer.");
        group.MapPost("/destinations/{id}/replay", Replay)
            .WithSummary("Send again one event ({eventId}) or every event that occurred in [from, to), with the same event ids.");
        group.MapGet("/notices", Notices).WithSummary("What needs a brand admin's attention: destinations disabled after failing, and why.");
        return group;
    }

    private static (Caller, ProblemHttpResult?) Admin(string tenant, HttpContext http)
    {
        var caller = Caller.From(http.User);
        return (caller, Access.DenyConfigure(caller, tenant, "destinations"));
    }

    public static async Task<Results<Created<DestinationResource>, ValidationProblem, ProblemHttpResult>> Create(string tenant, DestinationBody body, HttpContext http, IGrainFactory grains,
        DestinationStore store, OutboundAddresses addresses, AuditLog audit, IConfiguration configuration, SmtpOptions smtp)
    {
        var (caller, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        var errors = new ValidationErrors();
        var kind = errors.Required("kind", body.Kind);
        if (kind is not null && !DestinationKinds.All.Contains(kind))
            errors.Add("kind", $"must be one of {string.Join(", ", DestinationKinds.All)}.");
        else if (kind == DestinationKinds.Email && !smtp.Configured)
            errors.Add("kind", "email alerts need the deployment's mail server (CALLMESH_SMTP__HOST); ask your operator.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        var tenantConfig = (await grains.GetGrain<ITenantGrain>(tenant).Get())?.Config;
        var draft = new Destination(tenant, DestinationStore.NewId(), body.Kind!, "", null, [], new DestinationFilters(),
            new DestinationSettings(Currency: tenantConfig?.Currency ?? "USD"), new DestinationCredentials(), DestinationStates.Active,
            null, null, null, DateTime.UtcNow, DateTime.UtcNow, false);
        var (destination, invalid) = await Apply(draft, body with { Kind = null }, errors, addresses, creating: true);
        if (invalid is not null) return invalid;
        string? secret = null;
        byte[]? feedHash = null;
        string? feedToken = null;
        if (destination.Kind == DestinationKinds.Webhook)
        {
            secret = WebhookSignature.NewSecret();
            destination = destination with { Credentials = destination.Credentials with { Secrets = [new SigningSecret(secret, null)] } };
        }
        if (!DestinationKinds.IsPushed(destination.Kind))
        {
            (feedToken, feedHash) = DestinationStore.NewFeedToken();
            destination = destination with { HasFeedToken = true };
        }
        await store.CreateAsync(destination, feedHash);
        await audit.RecordAsync(tenant, "destination", destination.Id, caller.Subject, new { destination.Kind, destination.Name, destination.Url, destination.Events });
        var resource = ToResource(destination, feedToken is null ? null : FeedUrls(VoiceApi.PublicBaseUrl(http, configuration), destination.Kind, feedToken))
            with
        { Secret = secret };
        return TypedResults.Created($"/v1/tenants/{tenant}/destinations/{destination.Id}", resource);
    }

    public static async Task<Results<Ok<DestinationList>, ProblemHttpResult>> List(string tenant, HttpContext http, DestinationStore store)
    {
        var (_, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        var items = (await store.ListAsync(tenant)).Select(d => ToResource(d, null)).ToList();
        return TypedResults.Ok(new DestinationList(items, items.Count));
    }

    public static async Task<Results<Ok<DestinationResource>, ProblemHttpResult>> Get(string tenant, string id, HttpContext http, DestinationStore store)
    {
        var (_, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        return await store.GetAsync(tenant, id) is { } d ? TypedResults.Ok(ToResource(d, null)) : Problems.NotFound("destination");
    }

    public static async Task<Results<Ok<DestinationResource>, ValidationProblem, ProblemHttpResult>> Patch(string tenant, string id, DestinationBody body, HttpContext http, DestinationStore store,
        OutboundAddresses addresses, AuditLog audit, IGrainFactory grains)
    {
        var (caller, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        if (await store.GetAsync(tenant, id) is not { } existing) return Problems.NotFound("destination");
        var errors = new ValidationErrors();
        if (body.Kind is not null && body.Kind != existing.Kind) errors.Add("kind", "cannot change; add a new destination instead.");
        var (destination, invalid) = await Apply(existing, body, errors, addresses, creating: false);
        if (invalid is not null) return invalid;
        await store.UpdateAsync(destination);
        await audit.RecordAsync(tenant, "destination", id, caller.Subject, new { destination.Name, destination.Url, destination.Events, destination.State });
        if (destination.State == DestinationStates.Active && DestinationKinds.IsPushed(destination.Kind))
            await grains.GetGrain<IDestinationGrain>(id).Wake();   // resumed: what waited goes now
        return TypedResults.Ok(ToResource((await store.GetAsync(tenant, id))!, null));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(string tenant, string id, HttpContext http, DestinationStore store, AuditLog audit)
    {
        var (caller, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        if (!await store.DeleteAsync(tenant, id)) return Problems.NotFound("destination");
        await audit.RecordAsync(tenant, "destination", id, caller.Subject, new { deleted = true });
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<DestinationResource>, ValidationProblem, ProblemHttpResult>> Rotate(string tenant, string id, RotateBody? body, HttpContext http, DestinationStore store, AuditLog audit)
    {
        var (caller, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        if (await store.GetAsync(tenant, id) is not { } d) return Problems.NotFound("destination");
        if (d.Kind != DestinationKinds.Webhook) return Problems.Invalid("kind", "only a webhook destination has a signing secret.");
        if (body?.OverlapHours is < 0 or > 168) return Problems.Invalid("overlapHours", "must be from 0 to 168 hours.");
        var now = DateTime.UtcNow;
        var secret = WebhookSignature.NewSecret();
        // The newest secret signs until replaced; each older one until its overlap ends (expired ones are dropped).
        var until = now.AddHours(body?.OverlapHours ?? 24);
        List<SigningSecret> secrets = [new(secret, null), .. (d.Credentials.Secrets ?? [])
            .Where(s => s.ExpiresAt is null || s.ExpiresAt > now).Select(s => s with { ExpiresAt = s.ExpiresAt is { } e && e < until ? e : until })
            .Where(s => s.ExpiresAt > now)];
        d = d with { Credentials = d.Credentials with { Secrets = secrets } };
        await store.UpdateAsync(d);
        await audit.RecordAsync(tenant, "destination", id, caller.Subject, new { rotatedSecret = true, previousValidUntil = until });
        return TypedResults.Ok(ToResource(d, null) with { Secret = secret });
    }

    public static async Task<Results<Ok<DeliveryPage>, ValidationProblem, ProblemHttpResult>> Deliveries(string tenant, string id, int? limit, string? cursor, HttpContext http,
        DestinationStore store, OutboxStore outbox)
    {
        var (_, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        if (await store.GetAsync(tenant, id) is null) return Problems.NotFound("destination");
        if (limit is < 1 or > 500) return Problems.Invalid("limit", "must be from 1 to 500.");
        long? before = null;
        if (cursor is not null)
        {
            if (!long.TryParse(cursor, out var seq) || seq < 1) return Problems.Invalid("cursor", "must be a cursor from an earlier page.");
            before = seq;
        }
        var page = await outbox.ListAsync(id, limit ?? 50, before);
        var items = page.Select(e => new DeliveryResource(e.EventId, e.Type, e.CallId, e.OccurredAt, e.State, e.Attempts, e.LastStatus,
            e.LastError, e.NextAttemptAt, e.DeliveredAt)).ToList();
        return TypedResults.Ok(new DeliveryPage(items, page.Count == (limit ?? 50) ? page[^1].Seq.ToString() : null));
    }

    public static async Task<Results<Ok<AttemptList>, ProblemHttpResult>> Attempts(string tenant, string id, string eventId, HttpContext http, DestinationStore store, OutboxStore outbox)
    {
        var (_, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        if (await store.GetAsync(tenant, id) is null) return Problems.NotFound("destination");
        return await outbox.AttemptsAsync(id, eventId) is { } attempts ? TypedResults.Ok(new AttemptList(eventId, attempts)) : Problems.NotFound("delivery");
    }

    public static async Task<Results<Accepted<ReplayResult>, ValidationProblem, ProblemHttpResult>> Replay(string tenant, string id, ReplayBody body, HttpContext http, DestinationStore store,
        OutboxStore outbox, IGrainFactory grains, AuditLog audit)
    {
        var (caller, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        if (await store.GetAsync(tenant, id) is not { } d) return Problems.NotFound("destination");
        var errors = new ValidationErrors();
        if (body.EventId is null == (body.From is null || body.To is null))
            errors.Add("eventId", "give either eventId, or both from and to.");
        if (body.EventId is not null && (body.From is not null || body.To is not null)) errors.Add("eventId", "give either eventId, or from and to, not both.");
        if (body.From >= body.To) errors.Add("to", "must be after from.");
        if (body.From is { } from && body.To is { } to && to - from > TimeSpan.FromDays(31)) errors.Add("to", "a replay covers at most 31 days.");
        if (!DestinationKinds.IsPushed(d.Kind)) errors.Add("kind", "a file destination is fetched, not sent to: fetch its files again.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        var count = await outbox.ReplayAsync(id, body.EventId, body.From?.ToUniversalTime(), body.To?.ToUniversalTime());
        if (body.EventId is not null && count == 0) return Problems.NotFound("delivery");
        await audit.RecordAsync(tenant, "destination", id, caller.Subject, new { replay = body, events = count });
        if (d.State == DestinationStates.Active) await grains.GetGrain<IDestinationGrain>(id).Wake();
        return TypedResults.Accepted((string?)null, new ReplayResult(count));
    }

    public static async Task<Results<Ok<NoticeList>, ProblemHttpResult>> Notices(string tenant, HttpContext http, DestinationStore store)
    {
        var (_, denied) = Admin(tenant, http);
        if (denied is not null) return denied;
        var items = (await store.ListAsync(tenant)).Where(d => d.State == DestinationStates.Disabled)
            .Select(d => new Notice("destination-disabled", d.Id, d.Name, d.StateChangedAt,
                $"{d.Name} stopped receiving events: {d.StateReason} Fix the receiver, then set its state to active.")).ToList();
        return TypedResults.Ok(new NoticeList(items, items.Count));
    }

    /// <summary>
    /// <paramref name="d"/> with what <paramref name="body"/> sets, validated: a create needs every required field of its kind,
    /// a PATCH changes only what it names. Answers the problem when anything is wrong (then nothing is saved).
    /// </summary>
    private static async Task<(Destination, ValidationProblem?)> Apply(Destination d, DestinationBody body, ValidationErrors errors,
        OutboundAddresses addresses, bool creating)
    {
        if (body.Name is not null || creating)
        {
            if (errors.Required("name", body.Name) is { } name)
                if (name.Trim().Length is 0 or > 100) errors.Add("name", "must be 1 to 100 characters.");
                else d = d with { Name = name.Trim() };
        }
        var pushed = DestinationKinds.IsPushed(d.Kind);
        if (body.Events is not null || creating)
        {
            var events = body.Events ?? d.Kind switch
            {
                DestinationKinds.Ga4 or DestinationKinds.Meta => [CallEvents.Qualified],
                DestinationKinds.Email => [CallEvents.Missed],
                _ => [],
            };
            if (events.FirstOrDefault(e => !CallEvents.All.Contains(e)) is { } unknown)
                errors.Add("events", $"{unknown} is not an event; events are {string.Join(", ", CallEvents.All)}.");
            else if (d.Kind == DestinationKinds.Webhook && events.Count == 0) errors.Add("events", "must name at least one event.");
            else if (d.Kind is DestinationKinds.Ga4 or DestinationKinds.Meta && events is not [CallEvents.Qualified])
                errors.Add("events", "ad platforms get conversions: only call.qualified.");
            else if (!pushed && events.Count > 0) errors.Add("events", "a file destination has no events: its files list qualified calls.");
            else if (d.Kind == DestinationKinds.Email && events is not [CallEvents.Missed])
                errors.Add("events", "email destinations send missed-call alerts: only call.missed.");
            d = d with { Events = [.. events.Distinct()] };
        }
        if (body.Url is not null || creating)
        {
            var url = body.Url ?? d.Kind switch { DestinationKinds.Ga4 => Ga4Endpoint, DestinationKinds.Meta => MetaEndpoint, _ => null };
            if (!DestinationKinds.HasUrl(d.Kind) && body.Url is not null)
                errors.Add("url", pushed ? "an email destination has addressees (settings.to), not a url." : "a file destination has no url: the ad platform fetches its files.");
            else if (DestinationKinds.HasUrl(d.Kind) && errors.Required("url", url) is { } required)
            {
                if (required.Length > 2000) errors.Add("url", "must be at most 2000 characters.");
                else if (await addresses.RefuseAsync(required) is { } refused) errors.Add("url", refused);
                else d = d with { Url = required };
            }
        }
        if (body.Filters is { } f)
        {
            if (f.Locations is { } locations && (locations.Count is 0 or > 500 || !locations.All(Rules.IsValidId)))
                errors.Add("filters.locations", "must be 1 to 500 location ids.");
            if (f.Sources is { } sources && (sources.Count is 0 or > 100 || sources.Any(s => s.Length is 0 or > 100)))
                errors.Add("filters.sources", "must be 1 to 100 sources.");
            if (f.MinDurationSeconds is < 0 or > 86_400) errors.Add("filters.minDurationSeconds", "must be from 0 to 86400.");
            d = d with { Filters = f with { FirstTimeOnly = f.FirstTimeOnly == true ? true : null } };
        }
        if (body.Settings is { } s)
        {
            d = d with { Settings = s with { Currency = d.Settings.Currency } };
            if (s.ConversionName is { Length: 0 or > 100 }) errors.Add("settings.conversionName", "must be 1 to 100 characters.");
            if (s.CallConversionName is { Length: 0 or > 100 }) errors.Add("settings.callConversionName", "must be 1 to 100 characters.");
            if (s.DefaultValue is < 0 or > 100_000_000) errors.Add("settings.defaultValue", "must be from 0 to 100000000.");
            if (s.MeasurementId is { } m && !MeasurementId().IsMatch(m)) errors.Add("settings.measurementId", "must be a GA4 measurement id (G-XXXXXXX).");
            if (s.DatasetId is { } ds && !DatasetId().IsMatch(ds)) errors.Add("settings.datasetId", "must be a Meta dataset (pixel) id: digits.");
            if (s.EventName is { } e && (d.Kind == DestinationKinds.Ga4 ? !Ga4EventName().IsMatch(e) : e.Length is 0 or > 50))
                errors.Add("settings.eventName", d.Kind == DestinationKinds.Ga4
                    ? "must start with a letter and hold letters, digits and _ only, at most 40." : "must be 1 to 50 characters.");
            if (s.TestEventCode is { Length: 0 or > 50 }) errors.Add("settings.testEventCode", "must be 1 to 50 characters.");
            if (s.To is { } to)
                if (to.Count is 0 or > 20) errors.Add("settings.to", "must list 1 to 20 email addresses.");
                else
                    for (var i = 0; i < to.Count; i++)
                        if (to[i] is not { Length: > 0 and <= 254 } address || !address.Contains('@') || !MimeKit.MailboxAddress.TryParse(address, out _))
                            errors.Add($"settings.to[{i}]", "must be an email address such as manager@example.com.");
        }
        if (body.ApiSecret is { } apiSecret)
            if (apiSecret.Length is < 8 or > 200) errors.Add("apiSecret", "must be 8 to 200 characters.");
            else d = d with { Credentials = d.Credentials with { ApiSecret = apiSecret } };
        if (body.AccessToken is { } token)
            if (token.Length is < 8 or > 1000) errors.Add("accessToken", "must be 8 to 1000 characters.");
            else d = d with { Credentials = d.Credentials with { AccessToken = token } };
        if (d.Kind == DestinationKinds.Ga4 && (d.Settings.MeasurementId is null || d.Credentials.ApiSecret is null))
            errors.Add("settings.measurementId", "a ga4 destination needs settings.measurementId and apiSecret.");
        if (d.Kind == DestinationKinds.Email && d.Settings.To is not { Count: > 0 })
            errors.Add("settings.to", "an email destination needs settings.to: who gets the alerts.");
        if (d.Kind == DestinationKinds.Meta && (d.Settings.DatasetId is null || d.Credentials.AccessToken is null))
            errors.Add("settings.datasetId", "a meta destination needs settings.datasetId and accessToken.");
        if (body.State is { } state)
            if (state is not (DestinationStates.Active or DestinationStates.Paused)) errors.Add("state", "must be active or paused.");
            else d = d with { State = state, StateReason = state == DestinationStates.Paused ? "Paused by a brand admin." : null };
        return (d, errors.Any ? Problems.Invalid(errors.ToDictionary()) : null);
    }

    public sealed record DestinationList(List<DestinationResource> Items, int Count);

    /// <summary>A page of deliveries, newest first; <c>Next</c> is the cursor of the next page (null on the last).</summary>
    public sealed record DeliveryPage(List<DeliveryResource> Items, string? Next);

    public sealed record AttemptList(string EventId, List<AttemptEntry> Items);

    public sealed record ReplayResult(int Replayed);

    /// <summary>Something a brand admin should act on; <c>Kind</c> is "destination-disabled" for now.</summary>
    public sealed record Notice(string Kind, string Destination, string Name, DateTime? At, string Message);

    public sealed record NoticeList(List<Notice> Items, int Count);

    private static DestinationResource ToResource(Destination d, Dictionary<string, string>? feedUrls) =>
        new(d.Id, d.Kind, d.Name, d.Url, d.Events, d.Filters, d.Settings, d.State, d.StateReason, d.StateChangedAt, d.FailingSince,
            d.CreatedAt, d.UpdatedAt, d.Credentials.Secrets?.Count ?? 0, feedUrls);

    /// <summary>The files an ad platform fetches on its schedule, with the destination's token in the path (shown once).</summary>
    private static Dictionary<string, string> FeedUrls(string baseUrl, string kind, string token) => kind == DestinationKinds.GoogleAds
        ? new()
        {
            ["clickConversions"] = $"{baseUrl}/v1/feeds/{token}/google-ads/click-conversions.csv",
            ["conversionAdjustments"] = $"{baseUrl}/v1/feeds/{token}/google-ads/conversion-adjustments.csv",
            ["enhancedConversions"] = $"{baseUrl}/v1/feeds/{token}/google-ads/enhanced-conversions.csv",
            ["callConversions"] = $"{baseUrl}/v1/feeds/{token}/google-ads/call-conversions.csv",
        }
        : new() { ["offlineConversions"] = $"{baseUrl}/v1/feeds/{token}/microsoft-ads/offline-conversions.csv" };

    [GeneratedRegex("^G-[A-Z0-9]{4,20}$")]
    private static partial Regex MeasurementId();

    [GeneratedRegex("^[0-9]{5,25}$")]
    private static partial Regex DatasetId();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,39}$")]
    private static partial Regex Ga4EventName();
}
