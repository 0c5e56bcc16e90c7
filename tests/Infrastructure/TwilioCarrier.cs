using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Carriers;

namespace CallMesh.Tests.Infrastructure;

/// <summary>Plays the carrier: posts webhooks signed the way Twilio signs them, over the gateway's public URL.</summary>
public sealed class TwilioCarrier(ProcessCluster cluster)
{
    public const string AccountSid = "AC0123456789abcdef0123456789abcdef";
    public const string AuthToken = "a-carrier-auth-token-0123456789";
    private static int _calls;

    /// <summary>Registers the carrier account with the tenant (idempotent).</summary>
    public async Task RegisterAsync(string tenant, string adminToken)
    {
        using var saved = await cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{tenant}/carriers/{AccountSid}", adminToken,
            new { carrier = "twilio", authToken = AuthToken });
        Assert.True(saved.IsSuccessStatusCode);
    }

    public static string NewCallSid() => $"CA{Interlocked.Increment(ref _calls):x32}";

    /// <summary>Posts a form signed over the public URL (the gateway's) and the sorted parameters.</summary>
    public Task<HttpResponseMessage> Webhook(string path, Dictionary<string, string> form, string token = AuthToken) =>
        cluster.Http.SendAsync(TwilioSignature.SignedRequest(token, cluster.Gateway, path, form));

    public static Dictionary<string, string> InboundForm(string callSid, string to, string from = "+14155550142") => new()
    {
        ["AccountSid"] = AccountSid, ["ApiVersion"] = "2010-04-01", ["CallSid"] = callSid, ["CallStatus"] = "ringing", ["Direction"] = "inbound",
        ["From"] = from, ["To"] = to, ["Caller"] = from, ["Called"] = to, ["FromCity"] = "HOUSTON", ["FromState"] = "TX",
    };

    /// <summary>
    /// An answered call of <paramref name="talkSeconds"/>: the dialed leg's and the caller's final status callbacks. They
    /// are applied behind the carrier's answer (silo/Calls/CallJournal.cs): unless told not to, this waits until the
    /// call shows them, and so its location's rollup counts them.
    /// </summary>
    public async Task CompleteAsync(string callSid, int talkSeconds, string? recordingUrl = null, string tenant = "bluebonnet", bool waitApplied = true)
    {
        var dialed = new Dictionary<string, string>
        {
            ["AccountSid"] = AccountSid, ["CallSid"] = "CB" + callSid[2..], ["ParentCallSid"] = callSid,
            ["CallStatus"] = "completed", ["CallDuration"] = $"{talkSeconds}", ["SequenceNumber"] = "3"
        };
        var parent = new Dictionary<string, string>
        {
            ["AccountSid"] = AccountSid, ["CallSid"] = callSid, ["CallStatus"] = "completed",
            ["CallDuration"] = $"{talkSeconds + 10}", ["SequenceNumber"] = "0"
        };
        if (recordingUrl is not null) parent["RecordingUrl"] = recordingUrl;
        foreach (var form in new[] { dialed, parent })
        {
            using var response = await Webhook("/v1/voice/twilio/status", form);
            Assert.True(response.IsSuccessStatusCode);
        }
        if (!waitApplied) return;
        // Both legs: the dialed leg's callback has a call SID of its own, so it may be applied after the caller's.
        await RecordedAsync(callSid, tenant, call => call.GetProperty("durationSeconds").GetInt32() == talkSeconds + 10
                                                     && call.GetProperty("talkSeconds").GetInt32() == talkSeconds);
    }

    /// <summary>The forwarded leg rang out unanswered and the caller hung up: a missed call, once applied.</summary>
    public async Task<JsonElement> MissAsync(string callSid, string tenant = "bluebonnet")
    {
        var dialed = new Dictionary<string, string>
        {
            ["AccountSid"] = AccountSid, ["CallSid"] = "CB" + callSid[2..], ["ParentCallSid"] = callSid,
            ["CallStatus"] = "no-answer", ["CallDuration"] = "0", ["SequenceNumber"] = "3"
        };
        var parent = new Dictionary<string, string>
        {
            ["AccountSid"] = AccountSid, ["CallSid"] = callSid, ["CallStatus"] = "completed",
            ["CallDuration"] = "25", ["SequenceNumber"] = "0"
        };
        foreach (var form in new[] { dialed, parent })
        {
            using var response = await Webhook("/v1/voice/twilio/status", form);
            Assert.True(response.IsSuccessStatusCode);
        }
        return await RecordedAsync(callSid, tenant, call => call.GetProperty("followUp").GetString() == "open");
    }

    /// <summary>
    /// Calls and their callbacks are recorded behind the carrier's answer, within moments: waits until the call reads back
    /// (as a brand admin would read it) and, if given, shows <paramref name="until"/>; returns it.
    /// </summary>
    public async Task<JsonElement> RecordedAsync(string callSid, string tenant = "bluebonnet", Func<JsonElement, bool>? until = null)
    {
        var admin = cluster.Token(tenant, Identity.Roles.BrandAdmin);
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(20))
        {
            using var response = await cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/calls/{callSid}", admin);
            if (response.IsSuccessStatusCode && await response.Content.ReadFromJsonAsync<JsonElement>() is var call && (until?.Invoke(call) ?? true))
                return call;
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(10), $"call {callSid} was not recorded as expected within 10 s");
        }
    }
}
