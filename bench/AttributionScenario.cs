using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CallMesh.Carriers;
using CallMesh.Identity;
using CallMesh.Silo.Demo;
using Npgsql;

namespace CallMesh.Bench;

/// <summary>
/// Attribution accuracy against known truth (docs/attribution.md). Visitors land on a location page through the gateway,
/// heartbeat while the page is open, leave, and some call their number with a signed carrier webhook: during the visit, or
/// a while after it, as people do. Time is compressed by short leases (6 s with 2 s of idle grace, a heartbeat a second),
/// so late calls come within a minute instead of hours. A first phase on a generous pool lets the pool observe the delays
/// and recommend its rest and size; then the same visitors' pattern runs at the recommended size and at half of it.
/// Each call's credited session is compared with the session that really called: right, wrong, or unknown (no session).
/// Precision = right / (right + wrong); recall = right / calls.
/// </summary>
public sealed class AttributionScenario(HttpClient http, HttpClient browser, string signingKey, NpgsqlDataSource db, AttributionScenario.Settings settings)
{
    public sealed record Settings(double VisitorsPerSecond, TimeSpan Arrivals, TimeSpan Learning, double CallShare, int Seed)
    {
        public const int LeaseSeconds = 6, GraceSeconds = 2;
    }

    /// <summary>When callers call: the rest of the calls come during the visit. Spans are in lease lengths after the visit ends.</summary>
    private static readonly (double Share, double From, double To)[] AfterVisit = [(0.25, 0, 1), (0.15, 1, 4), (0.05, 4, 12)];

    private const string Location = "downtown";
    private readonly string _tenant = $"attr-{DateTime.UtcNow:MMddHHmmss}";
    private readonly DateTime _since = DateTime.UtcNow.AddMinutes(-1);   // the calls' key leads with their start: bounds the lookups
    private readonly string _accountSid = "AC" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly string _token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private string Admin => UserTokens.Mint(signingKey, _tenant, Roles.BrandAdmin);
    private string _nap = "";
    private List<string> _numbers = [];
    private string _overflow = "";

    private sealed record Truth(string CallSid, Guid Session, string When);

    public sealed record Result(string Phase, int Size, int Visits, int Calls, int Right, int Wrong, int Unknown, long EarlyReuses, long Overflows,
        Dictionary<string, (int Right, int Wrong, int Unknown)> ByMatch, Dictionary<string, (int Right, int Wrong, int Unknown)> ByWhen)
    {
        public double Precision => Right + Wrong == 0 ? 1 : (double)Right / (Right + Wrong);
        public double Recall => Calls == 0 ? 0 : (double)Right / Calls;
    }

    public async Task<bool> RunAsync()
    {
        await SeedAsync();
        Console.WriteLine($"attribution: tenant {_tenant}, leases {Settings.LeaseSeconds} s + {Settings.GraceSeconds} s grace, " +
                          $"{settings.VisitorsPerSecond:0.#} visitors/s, {settings.CallShare:P0} of them call: 55% during the visit, " +
                          "25% within a lease length after it, 15% at 1-4 and 5% at 4-12 lease lengths");
        var learned = await RunPhaseAsync("learning", 1000, settings.Learning, settings.Seed);
        var health = await HealthAsync();
        var lateCalls = health.GetProperty("lateCalls");
        var delays = health.GetProperty("callDelays");
        var recommended = health.GetProperty("recommendedSize").GetInt32();
        Console.WriteLine($"  learned from {delays.GetProperty("observations").GetInt64()} calls: delay after last activity p50 " +
                          $"{delays.GetProperty("p50")} s, p90 {delays.GetProperty("p90")} s, p99 {delays.GetProperty("p99")} s; " +
                          $"rest {lateCalls.GetProperty("restSeconds").GetInt32()} s ({lateCalls.GetProperty("restFrom").GetString()}); " +
                          $"peak demand {health.GetProperty("peakDemand").GetInt32()}, recommended size {recommended}");
        var atRecommended = await RunPhaseAsync("recommended", recommended, settings.Arrivals, settings.Seed + 1);
        var atHalf = await RunPhaseAsync("half", Math.Max(1, recommended / 2), settings.Arrivals, settings.Seed + 2);

        Console.WriteLine("  | pool size | calls | right | wrong | unknown | precision | recall | early reuses | overflow answers |");
        Console.WriteLine("  |---|---|---|---|---|---|---|---|---|");
        foreach (var r in new[] { learned, atRecommended, atHalf })
            Console.WriteLine($"  | {r.Size} ({r.Phase}) | {r.Calls} | {r.Right} | {r.Wrong} | {r.Unknown} | {r.Precision:P2} | {r.Recall:P2} | {r.EarlyReuses} | {r.Overflows} |");
        foreach (var r in new[] { atRecommended, atHalf })
            Console.WriteLine($"  at the {r.Phase} size, right/wrong/unknown by match: " +
                              string.Join(", ", r.ByMatch.OrderBy(m => m.Key).Select(m => $"{m.Key} {m.Value.Right}/{m.Value.Wrong}/{m.Value.Unknown}")) +
                              "; by when the call came: " +
                              string.Join(", ", r.ByWhen.OrderByDescending(m => m.Key).Select(m => $"{m.Key} the visit {m.Value.Right}/{m.Value.Wrong}/{m.Value.Unknown}")));
        var met = atRecommended.Precision >= 0.995 && atRecommended.Recall >= 0.97;
        Console.WriteLine($"  goal at the recommended size: precision >= 99.5% and recall >= 97%: {(met ? "met" : "NOT MET")}");
        return met;
    }

    private async Task SeedAsync()
    {
        await DemoSeeder.SendAsync(http, HttpMethod.Put, UserTokens.Mint(signingKey, null, Roles.PlatformAdmin), $"/v1/tenants/{_tenant}",
            new { name = "Attribution Bench", timeZone = "America/Chicago", currency = "USD" });
        var (prefix, numbers) = await BenchTenant.ImportFreshExchange(http, Admin, _tenant);
        _nap = $"{prefix}9998";
        (_numbers, _overflow) = (numbers[..1000], numbers[1000]);
        await DemoSeeder.SendAsync(http, HttpMethod.Put, Admin, $"/v1/tenants/{_tenant}/locations/{Location}", new
        {
            name = "Downtown", address = new { line1 = "1 Main St", city = "Austin", region = "TX", postalCode = "78701", country = "US" },
            napPhone = _nap, forwardTo = $"{prefix}9999", timeZone = "America/Chicago",
        });
        await DemoSeeder.SendAsync(http, HttpMethod.Put, Admin, $"/v1/tenants/{_tenant}/sites/{_tenant}-web", new { domains = new[] { "bench.example" } });
        await DemoSeeder.SendAsync(http, HttpMethod.Put, Admin, $"/v1/tenants/{_tenant}/carriers/{_accountSid}", new { carrier = "twilio", authToken = _token });
    }

    private Task ResizeAsync(int size) => DemoSeeder.SendAsync(http, HttpMethod.Put, Admin, $"/v1/tenants/{_tenant}/pools/web", new
    {
        location = Location, numbers = _numbers[..size], overflowNumber = _overflow, leaseSeconds = Settings.LeaseSeconds,
        idleGraceSeconds = Settings.GraceSeconds,
    });

    private async Task<JsonElement> HealthAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/tenants/{_tenant}/pools/web/health?days=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Admin);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Visitors arrive for <paramref name="arrivals"/> at the set rate; the phase ends when the last of them has called.</summary>
    private async Task<Result> RunPhaseAsync(string phase, int size, TimeSpan arrivals, int seed)
    {
        await ResizeAsync(size);
        var before = await HealthAsync();
        var random = new Random(seed);
        var count = (int)(arrivals.TotalSeconds * settings.VisitorsPerSecond);
        var truths = new ConcurrentBag<Truth>();
        var failures = 0;
        // Each visitor's plan is drawn here, in order, so a seed gives the same visits whatever the timing.
        var plans = Enumerable.Range(0, count).Select(i => (
            Start: TimeSpan.FromSeconds(i / settings.VisitorsPerSecond + random.NextDouble() / settings.VisitorsPerSecond),
            Visit: TimeSpan.FromSeconds(3 + random.NextDouble() * 12),
            Calls: random.NextDouble() < settings.CallShare,
            When: random.NextDouble(),
            Within: random.NextDouble())).ToList();
        var started = DateTime.UtcNow;
        await Task.WhenAll(plans.Select((plan, i) => Task.Run(async () =>
        {
            try
            {
                await DelayUntil(started + plan.Start);
                if (await VisitAsync(phase, i, plan.Visit, plan.Calls ? CallAt(plan.Visit, plan.When, plan.Within) : null) is { } truth) truths.Add(truth);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                Interlocked.Increment(ref failures);
            }
        })));
        if (failures > 0) Console.WriteLine($"  {phase}: {failures} visits failed a request and were left out");

        var credited = await CreditedAsync(truths.Select(t => t.CallSid).ToArray());
        var byMatch = new Dictionary<string, (int Right, int Wrong, int Unknown)>();
        var byWhen = new Dictionary<string, (int Right, int Wrong, int Unknown)>();
        int right = 0, wrong = 0, unknown = 0;
        foreach (var truth in truths)
        {
            var (session, match) = credited.GetValueOrDefault(truth.CallSid, (null, "not recorded"));
            var (m, w) = (byMatch.GetValueOrDefault(match), byWhen.GetValueOrDefault(truth.When));
            if (session is null) { unknown++; m.Unknown++; w.Unknown++; }
            else if (session == truth.Session) { right++; m.Right++; w.Right++; }
            else { wrong++; m.Wrong++; w.Wrong++; }
            (byMatch[match], byWhen[truth.When]) = (m, w);
        }
        var after = await HealthAsync();
        long Risk(JsonElement h, string name) => h.GetProperty("precisionRisk").GetProperty(name).GetInt64();
        return new Result(phase, size, count - failures, truths.Count, right, wrong, unknown,
            Risk(after, "earlyReuses") - Risk(before, "earlyReuses"), after.GetProperty("overflowCount").GetInt64() - before.GetProperty("overflowCount").GetInt64(),
            byMatch, byWhen);
    }

    /// <summary>When the visitor calls, after landing: during the visit (55%), or after it by a span of lease lengths.</summary>
    private static TimeSpan CallAt(TimeSpan visit, double when, double within)
    {
        var lease = TimeSpan.FromSeconds(Settings.LeaseSeconds);
        var share = 0.55;
        if (when < share) return visit * within;
        foreach (var (part, from, to) in AfterVisit)
        {
            if (when < share + part) return visit + lease * (from + within * (to - from));
            share += part;
        }
        return visit * within;
    }

    private static Task DelayUntil(DateTime at) => at > DateTime.UtcNow ? Task.Delay(at - DateTime.UtcNow) : Task.CompletedTask;

    /// <summary>One visit: the page asks for its number, heartbeats each second while open; the visitor may call at <paramref name="callAt"/>.</summary>
    private async Task<Truth?> VisitAsync(string phase, int index, TimeSpan visit, TimeSpan? callAt)
    {
        var landed = DateTime.UtcNow;
        var body = JsonSerializer.Serialize(new
        {
            siteKey = $"{_tenant}-web", url = $"https://bench.example/locations/downtown?utm_source=google&utm_medium=cpc&utm_campaign={phase}-{index}",
            targets = new[] { _nap },
        });
        var answer = await PostBrowser($"/v1/dni/sessions?siteKey={_tenant}-web", body, index);
        var visitorId = answer.GetProperty("visitorId").GetGuid();
        var sessionId = answer.GetProperty("sessionId").GetGuid();
        var number = answer.GetProperty("swaps")[0].GetProperty("number").GetString()!;
        var call = callAt is { } at ? Task.Run(async () => { await DelayUntil(landed + at); return await CallAsync(number, sessionId, at < visit ? "during" : "after"); }) : null;
        var heartbeat = JsonSerializer.Serialize(new { siteKey = $"{_tenant}-web", visitorId });
        for (var next = landed.AddSeconds(1); next < landed + visit; next = next.AddSeconds(1))
        {
            await DelayUntil(next);
            await PostBrowser($"/v1/dni/sessions/{sessionId}/heartbeat?siteKey={_tenant}-web", heartbeat, index);
        }
        return call is null ? null : await call;
    }

    private async Task<JsonElement> PostBrowser(string path, string body, int index)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "text/plain") };
        // One address per visitor, as real visitors have.
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", $"10.{index / 65536 % 256}.{index / 256 % 256}.{index % 256}");
        using var response = await browser.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<Truth> CallAsync(string number, Guid session, string when)
    {
        var callSid = "CA" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = _accountSid, ["CallSid"] = callSid, ["From"] = $"+1415{Random.Shared.Next(200, 1000)}{Random.Shared.Next(10_000):D4}",
            ["To"] = number, ["CallStatus"] = "ringing", ["Direction"] = "inbound",
        };
        using var response = await http.SendAsync(TwilioSignature.SignedRequest(_token, http.BaseAddress!, "/v1/voice/twilio/inbound", form));
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"inbound webhook: {(int)response.StatusCode}");
        return new Truth(callSid, session, when);
    }

    /// <summary>The session each call was credited to and how it matched, once every call is recorded (written behind the answer).</summary>
    private async Task<Dictionary<string, (Guid? Session, string Match)>> CreditedAsync(string[] callSids)
    {
        var credited = new Dictionary<string, (Guid?, string)>();
        for (var deadline = DateTime.UtcNow.AddMinutes(1); credited.Count < callSids.Length && DateTime.UtcNow < deadline; await Task.Delay(500))
        {
            await using var command = db.CreateCommand("SELECT call_id, session_id, match FROM callmesh.calls WHERE call_id = ANY($1) AND started_at >= $2");
            command.Parameters.Add(new() { Value = callSids });
            command.Parameters.Add(new() { Value = _since });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                credited[reader.GetString(0)] = (reader.IsDBNull(1) ? null : reader.GetGuid(1), reader.GetString(2));
        }
        return credited;
    }
}
