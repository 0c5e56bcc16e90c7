using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using CallMesh.Carriers;
using CallMesh.Identity;
using CallMesh.Silo.Demo;
using Npgsql;

namespace CallMesh.Bench;

/// <summary>
/// Calls as a carrier makes them: a signed inbound webhook to a tracking number of the bench tenant, answered
/// with TwiML (what the caller waits for), then the dial's result (answered) and the status callback that ends the call.
/// </summary>
public sealed class InboundCalls(HttpClient http, BenchTenant.Seed seed)
{
    // Spread over carrier accounts (a brand's subaccounts), as a silo allows each account 200 webhooks a second
    // (CALLMESH_RATELIMIT__WEBHOOKSPERACCOUNTPERSECOND) and the peak phase makes several times that: with 16, a second's
    // share of some account went past 200 at the peak's start and those calls' callbacks were refused (429).
    private readonly (string Sid, string Token)[] _accounts = [.. Enumerable.Range(0, 64).Select(_ =>
        ("AC" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))))];
    private readonly ConcurrentBag<string> _answered = [];
    private readonly ConcurrentBag<Task> _callbacks = [];
    // A callback the silo did not take (not 2xx): its call can never complete, so the check below names why.
    private readonly ConcurrentDictionary<string, int> _refusedCallbacks = new();
    /// <summary>Before this driver's first call: bounds lookups of its calls (their key leads with the start).</summary>
    public DateTime Since { get; } = DateTime.UtcNow.AddSeconds(-1);

    public async Task RegisterAccountAsync(string signingKey)
    {
        foreach (var (sid, token) in _accounts)
            await DemoSeeder.SendAsync(http, HttpMethod.Put, UserTokens.Mint(signingKey, seed.Tenant, Roles.BrandAdmin),
                $"/v1/tenants/{seed.Tenant}/carriers/{sid}", new { carrier = "twilio", authToken = token });
    }

    public async Task<bool> Call() => (await CallAsync()).Answered;

    /// <summary>One call; <paramref name="webhook"/> "fallback" plays the carrier after its primary URL failed.</summary>
    public async Task<(bool Answered, string CallSid)> CallAsync(string webhook = "inbound")
    {
        var callSid = "CA" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var (accountSid, token) = _accounts[Random.Shared.Next(_accounts.Length)];
        var to = seed.PoolNumbers[Random.Shared.Next(seed.PoolNumbers.Count)];
        var from = $"+1415{Random.Shared.Next(200, 1000)}{Random.Shared.Next(10_000):D4}";
        using var response = await Post(token, $"/v1/voice/twilio/{webhook}", new()
        {
            ["AccountSid"] = accountSid, ["CallSid"] = callSid, ["From"] = from, ["To"] = to, ["CallStatus"] = "ringing", ["Direction"] = "inbound",
        });
        if (response.StatusCode != HttpStatusCode.OK || !(await response.Content.ReadAsStringAsync()).Contains("<Dial")) return (false, callSid);
        _answered.Add(callSid);
        if (webhook != "inbound") return (true, callSid);   // no silo to call back
        _callbacks.Add(Task.Run(async () =>
        {
            // Our <Dial>'s action (the carrier asks it when the forwarded leg ends, before the caller's leg ends): answered.
            using var dialed = await Post(token, "/v1/voice/twilio/dial-action?step=1", new()
            {
                ["AccountSid"] = accountSid, ["CallSid"] = callSid, ["From"] = from, ["To"] = to, ["CallStatus"] = "in-progress",
                ["DialCallSid"] = "CB" + callSid[2..], ["DialCallStatus"] = "completed", ["DialCallDuration"] = "54", ["DialBridged"] = "true",
            });
            using var done = await Post(token, "/v1/voice/twilio/status", new()
            {
                ["AccountSid"] = accountSid, ["CallSid"] = callSid, ["From"] = from, ["To"] = to, ["CallStatus"] = "completed",
                ["CallDuration"] = "64", ["SequenceNumber"] = "0",
            });
            foreach (var (kind, response) in new[] { ("dial-action", dialed), ("status", done) })
                if (!response.IsSuccessStatusCode)
                    _refusedCallbacks.AddOrUpdate($"{kind} {(int)response.StatusCode}", 1, (_, n) => n + 1);
        }));
        return (true, callSid);
    }

    private Task<HttpResponseMessage> Post(string token, string path, Dictionary<string, string> form) =>
        http.SendAsync(TwilioSignature.SignedRequest(token, http.BaseAddress!, path, form));   // signed over the gateway's URL

    /// <summary>
    /// Every call answered with TwiML becomes a row, answered by its dial result and ended by its status callback. Both are
    /// written behind the answer (silo/Calls/CallJournal.cs), so this waits up to a minute for the last of them. While it
    /// waits it only counts the tenant's rows since this driver started (an index range, not 20,000 ids against every
    /// partition, which cost PostgreSQL a second a query and slowed the writes it waited for); the ids are checked once.
    /// </summary>
    public IReadOnlyDictionary<string, int> RefusedCallbacks => _refusedCallbacks;

    public async Task<(int Completed, int Total)> CheckCompletedAsync(NpgsqlDataSource db)
    {
        await Task.WhenAll(_callbacks);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            await using var count = db.CreateCommand(
                "SELECT count(*) FROM callmesh.calls WHERE tenant_id = $1 AND started_at >= $2 AND status = 'completed' AND answered AND dial_ended");
            count.Parameters.Add(new() { Value = seed.Tenant });
            count.Parameters.Add(new() { Value = Since });
            if ((long)(await count.ExecuteScalarAsync())! >= _answered.Count) break;
            await Task.Delay(500);
        }
        await using var command = db.CreateCommand(
            "SELECT count(*) FROM callmesh.calls WHERE call_id = ANY($1) AND started_at >= $2 AND status = 'completed' AND answered AND dial_ended");
        command.Parameters.Add(new() { Value = _answered.ToArray() });
        command.Parameters.Add(new() { Value = Since });
        return ((int)(long)(await command.ExecuteScalarAsync())!, _answered.Count);
    }
}
