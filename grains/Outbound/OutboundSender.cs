using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallMesh.Calls;

namespace CallMesh.Outbound;

/// <summary>
/// Sends one outbox event to one destination in the destination's format: a signed Standard Webhooks request, a GA4
/// Measurement Protocol event, a Meta Conversions API event or a missed-call email (<see cref="EmailAlerts"/>). Never throws: every outcome is an <see cref="AttemptResult"/>.
/// </summary>
public sealed class OutboundSender(OutboundAddresses addresses, EmailAlerts email, TimeProvider clock)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    public async Task<AttemptResult> SendAsync(Destination destination, OutboxEvent e, CancellationToken cancellation)
    {
        if (destination.Kind == DestinationKinds.Email) return await email.SendAsync(destination, e, cancellation);
        var at = clock.GetUtcNow().UtcDateTime;
        HttpRequestMessage request;
        try
        {
            request = destination.Kind switch
            {
                DestinationKinds.Webhook => Webhook(destination, e, at),
                DestinationKinds.Ga4 => Ga4(destination, e, at),
                DestinationKinds.Meta => Meta(destination, e, at),
                _ => throw new GiveUp($"A {destination.Kind} destination is fetched as files, not sent to."),
            };
        }
        catch (GiveUp reason)
        {
            return new AttemptResult(e, at, null, 0, null, null, GiveUp: reason.Message);
        }
        var elapsed = Stopwatch.StartNew();
        try
        {
            using (request)
            using (var response = await addresses.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation))
            {
                var excerpt = await Excerpt(response, cancellation);
                var retryAfter = response.Headers.RetryAfter is { } r ? r.Delta ?? (r.Date - DateTimeOffset.UtcNow) : null;
                return new AttemptResult(e, at, (int)response.StatusCode, (int)elapsed.ElapsedMilliseconds,
                    response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}", excerpt, retryAfter);
            }
        }
        catch (Exception ex) when (!cancellation.IsCancellationRequested)
        {
            var error = ex is TaskCanceledException ? "timed out" : ex.InnerException?.Message ?? ex.Message;
            return new AttemptResult(e, at, null, (int)elapsed.ElapsedMilliseconds, Truncate(error, 500), null);
        }
    }

    /// <summary>The body's first 500 characters: enough to see why a receiver refused, never a whole page.</summary>
    private static async Task<string?> Excerpt(HttpResponseMessage response, CancellationToken cancellation)
    {
        var buffer = new char[500];
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation), Encoding.UTF8);
        var read = await reader.ReadBlockAsync(buffer, cancellation);
        return read == 0 ? null : new string(buffer, 0, read);
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    /// <summary><c>{"type", "timestamp", "data"}</c>, signed with every secret still valid (two while a rotation overlaps).</summary>
    public static HttpRequestMessage Webhook(Destination destination, OutboxEvent e, DateTime now)
    {
        var body = Encoding.UTF8.GetBytes(
            $"{{\"type\":{JsonSerializer.Serialize(e.Type)},\"timestamp\":{JsonSerializer.Serialize(e.OccurredAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"))},\"data\":{e.Payload}}}");
        var timestamp = new DateTimeOffset(now).ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, destination.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = JsonType;
        request.Headers.Add("webhook-id", e.EventId);
        request.Headers.Add("webhook-timestamp", timestamp.ToString());
        request.Headers.Add("webhook-signature", WebhookSignature.Header(destination.Credentials.SigningSecrets(now), e.EventId, timestamp, body));
        return request;
    }

    /// <summary>A GA4 lead event (default <c>generate_lead</c>) for a qualified call; GA4 takes events up to 72 h old.</summary>
    public static HttpRequestMessage Ga4(Destination destination, OutboxEvent e, DateTime now)
    {
        var call = JsonSerializer.Deserialize<CallResource>(e.Payload, Json)!;
        if (now - call.StartedAt > TimeSpan.FromHours(72)) throw new GiveUp("GA4 takes events at most 72 hours old.");
        var (value, currency) = Value(destination, call);
        var body = new JsonObject
        {
            // The web visitor's id when the call came from a tracked visit, else the caller's own stable id.
            ["client_id"] = call.VisitorId?.ToString() ?? "callmesh." + ConversionHashing.Sha256Hex(call.Caller)[..16],
            ["timestamp_micros"] = new DateTimeOffset(call.StartedAt).ToUnixTimeMilliseconds() * 1000,
            ["events"] = new JsonArray(new JsonObject
            {
                ["name"] = destination.Settings.EventName ?? "generate_lead",
                ["params"] = new JsonObject
                {
                    ["currency"] = currency, ["value"] = value, ["lead_source"] = "phone_call", ["call_id"] = call.Id,
                    ["call_duration_sec"] = call.TalkSeconds, ["tracking_number"] = call.TrackingNumber,
                    ["location_id"] = call.Location, ["event_id"] = e.EventId,
                },
            }),
        };
        var url = $"{destination.Url}?measurement_id={Uri.EscapeDataString(destination.Settings.MeasurementId ?? "")}" +
                  $"&api_secret={Uri.EscapeDataString(destination.Credentials.ApiSecret ?? "")}";
        return new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, JsonType) };
    }

    /// <summary>A Meta Conversions API event (default <c>Lead</c>, <c>action_source: phone_call</c>); Meta refuses events over 7 days old.</summary>
    public static HttpRequestMessage Meta(Destination destination, OutboxEvent e, DateTime now)
    {
        var call = JsonSerializer.Deserialize<CallResource>(e.Payload, Json)!;
        if (now - call.StartedAt > TimeSpan.FromDays(7)) throw new GiveUp("Meta takes events at most 7 days old.");
        var (value, currency) = Value(destination, call);
        var userData = new JsonObject { ["ph"] = new JsonArray(ConversionHashing.MetaPhone(call.Caller)) };
        // fbc from the click id the visit landed with: subdomain index 1 and the time of the call's visit in ms, case kept.
        if (call.ClickIds?.Fbclid is { } fbclid && call.SessionId is not null)
            userData["fbc"] = $"fb.1.{new DateTimeOffset(call.StartedAt).ToUnixTimeMilliseconds()}.{fbclid}";
        var body = new JsonObject
        {
            ["data"] = new JsonArray(new JsonObject
            {
                ["event_name"] = destination.Settings.EventName ?? "Lead",
                ["event_time"] = new DateTimeOffset(call.StartedAt).ToUnixTimeSeconds(),
                ["action_source"] = "phone_call",
                ["event_id"] = e.EventId,
                ["user_data"] = userData,
                ["custom_data"] = new JsonObject { ["value"] = value, ["currency"] = currency },
            }),
        };
        if (destination.Settings.TestEventCode is { } test) body["test_event_code"] = test;
        var url = $"{destination.Url!.TrimEnd('/')}/{Uri.EscapeDataString(destination.Settings.DatasetId ?? "")}/events" +
                  $"?access_token={Uri.EscapeDataString(destination.Credentials.AccessToken ?? "")}";
        return new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, JsonType) };
    }

    /// <summary>The call's revenue, else the destination's default value, else 0; in the call's (the tenant's) currency.</summary>
    public static (decimal Value, string Currency) Value(Destination destination, CallResource call) =>
        (call.Value ?? destination.Settings.DefaultValue ?? 0m, call.Currency ?? destination.Settings.Currency ?? "USD");

    /// <summary>An event this destination can never take (too old, wrong kind): dead at once, with the reason.</summary>
    private sealed class GiveUp(string reason) : Exception(reason);
}
