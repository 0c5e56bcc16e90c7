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
        var parent = StatusForm(callSid, "completed", talkSeconds + 10);
        if (recordingUrl is not null) parent["RecordingUrl"] = recordingUrl;
        await StatusAsync(DialedForm(callSid, "completed", talkSeconds), parent);
        if (!waitApplied) return;
        // Both legs: the dialed leg's callback has a call SID of its own, so it may be applied after the caller's.
        await RecordedAsync(callSid, tenant, call => call.GetProperty("durationSeconds").GetInt32() == talkSeconds + 10
                                                     && call.GetProperty("talkSeconds").GetInt32() == talkSeconds);
    }

    /// <summary>The forwarded leg rang out unanswered and the caller hung up: a missed call, once applied.</summary>
    public async Task<JsonElement> MissAsync(string callSid, string tenant = "bluebonnet")
    {
        await StatusAsync(DialedForm(callSid, "no-answer", 0), StatusForm(callSid, "completed", 25));
        return await RecordedAsync(callSid, tenant, call => call.GetProperty("followUp").GetString() == "open");
    }

    /// <summary>Status callbacks, each answered before the next is sent.</summary>
    public async Task StatusAsync(params Dictionary<string, string>[] forms)
    {
        foreach (var form in forms)
        {
            using var response = await Webhook("/v1/voice/twilio/status", form);
            Assert.True(response.IsSuccessStatusCode);
        }
    }

    /// <summary>The caller's leg's status callback (its number's status callback URL).</summary>
    public static Dictionary<string, string> StatusForm(string callSid, string status, int seconds) => new()
    {
        ["AccountSid"] = AccountSid, ["CallSid"] = callSid, ["CallStatus"] = status, ["CallDuration"] = $"{seconds}", ["SequenceNumber"] = "0"
    };

    /// <summary>The forwarded leg's status callback (the one our dial asks for), its last of a call.</summary>
    public static Dictionary<string, string> DialedForm(string callSid, string status, int seconds) => new()
    {
        ["AccountSid"] = AccountSid, ["CallSid"] = "CB" + callSid[2..], ["ParentCallSid"] = callSid,
        ["CallStatus"] = status, ["CallDuration"] = $"{seconds}", ["SequenceNumber"] = "3"
    };

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
