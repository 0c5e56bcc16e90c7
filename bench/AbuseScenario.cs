using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Silo.Demo;

namespace CallMesh.Bench;

/// <summary>
/// An anonymous flood of the DNI endpoint (docs/security.md) while real visitors keep coming: attackers from a few
/// addresses mint new visitors to drain a location's pool; junk from ever-new addresses names a new site key each time, or
/// sends a unique kilobyte-long page path with unique kilobyte-long targets, to fill the silo's caches. It prints the silos'
/// memory before and after, the share of the pool the attackers hold, and the real visitors' success rate and p99 (a
/// real visitor is served when it gets an answer with a number: its own, or the overflow number once the pool is held).
/// </summary>
public sealed class AbuseScenario(HttpClient browser, HttpClient http, string signingKey, string state, TimeSpan duration)
{
    private const int PoolSize = 100, AttackerAddresses = 4, RealVisitorsPerSecond = 5;
    private readonly string _tenant = $"abuse-{DateTime.UtcNow:MMddHHmmss}";
    private string _nap = "";
    private string Site => $"{_tenant}-web";

    public async Task<bool> RunAsync()
    {
        var admin = UserTokens.Mint(signingKey, _tenant, Roles.BrandAdmin);
        await DemoSeeder.SendAsync(http, HttpMethod.Put, UserTokens.Mint(signingKey, null, Roles.PlatformAdmin), $"/v1/tenants/{_tenant}",
            new { name = "Abuse Bench", timeZone = "America/Chicago", currency = "USD" });
        var (prefix, numbers) = await BenchTenant.ImportFreshExchange(http, admin, _tenant);
        _nap = $"{prefix}9998";
        await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{_tenant}/locations/downtown", new
        {
            name = "Downtown", address = new { line1 = "1 Main St", city = "Austin", region = "TX", postalCode = "78701", country = "US" },
            napPhone = _nap, forwardTo = $"{prefix}9999", timeZone = "America/Chicago",
        });
        await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{_tenant}/pools/web",
            new { location = "downtown", numbers = numbers[..PoolSize], overflowNumber = numbers[PoolSize] });
        await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{_tenant}/sites/{Site}", new { domains = new[] { "bench.example" } });
        using (var pool = new HttpRequestMessage(HttpMethod.Get, $"/v1/tenants/{_tenant}/pools/web"))
        {
            pool.Headers.Authorization = new("Bearer", admin);
            using var answer = await http.SendAsync(pool);
            Console.WriteLine($"abuse: a {PoolSize}-number pool (at most {(await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("maxHoldsPerClient")} " +
                              $"held per client address), {AttackerAddresses} attacker addresses minting visitors, junk from new addresses, " +
                              $"{RealVisitorsPerSecond} real visitors a second, {duration.TotalSeconds:F0} s");
        }

        var memoryBefore = SiloMemory();
        var attackerNumbers = new ConcurrentDictionary<string, byte>();
        long attacks = 0, junk = 0, limited = 0;
        var real = new ConcurrentBag<(bool Ok, double Ms)>();
        using var stop = new CancellationTokenSource(duration);
        var attackers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var address = $"203.0.113.{1 + (w * 7 + i) % AttackerAddresses}";
                var (status, number, overflow) = await Post(Body(Site, "/locations/downtown", [_nap]), address);
                Interlocked.Increment(ref attacks);
                if (status == HttpStatusCode.TooManyRequests) Interlocked.Increment(ref limited);
                if (number is not null && !overflow && number != _nap) attackerNumbers.TryAdd(number, 0);
                // Junk from an address never seen before: a new site key, or a unique path with unique long invalid targets.
                var from = $"198.18.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}";
                var junkTargets = Enumerable.Range(0, 3).Select(_ => "+1" + Guid.NewGuid().ToString("N") + new string('9', 1000)).ToArray();
                await Post(i % 2 == 0 ? Body($"junk-{Guid.NewGuid():N}", "/", [_nap]) : Body(Site, $"/p/{Guid.NewGuid():N}/{new string('x', 1500)}", junkTargets), from);
                Interlocked.Increment(ref junk);
            }
        })).ToList();
        var visitors = Task.Run(async () =>
        {
            var running = new List<Task>();
            var clock = Stopwatch.StartNew();
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var due = TimeSpan.FromSeconds((double)n / RealVisitorsPerSecond);
                if (due > clock.Elapsed) await Task.Delay(due - clock.Elapsed);
                var address = $"100.64.{n / 250 % 256}.{1 + n % 250}";
                running.Add(Task.Run(async () =>
                {
                    var started = Stopwatch.GetTimestamp();
                    var (status, number, _) = await Post(Body(Site, "/locations/downtown", [_nap]), address);
                    real.Add((status == HttpStatusCode.OK && number is not null, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
                }));
            }
            await Task.WhenAll(running);
        });
        await Task.WhenAll(attackers.Append(visitors));
        await Task.Delay(TimeSpan.FromSeconds(5));   // the silos' caches settle; the collector runs
        var memoryAfter = SiloMemory();

        var share = (double)attackerNumbers.Count / PoolSize;
        var latencies = real.Select(r => r.Ms).Order().ToList();
        var p99 = latencies.Count == 0 ? 0 : latencies[(int)Math.Ceiling(latencies.Count * 0.99) - 1];
        var success = real.IsEmpty ? 0 : (double)real.Count(r => r.Ok) / real.Count;
        Console.WriteLine($"  silo memory (RSS, all silos): {memoryBefore / 1048576.0:F0} MB before, {memoryAfter / 1048576.0:F0} MB after " +
                          $"({attacks + junk:N0} attack requests: {attacks:N0} minting visitors, {limited:N0} of them rate-limited; {junk:N0} junk)");
        Console.WriteLine($"  attackers hold {attackerNumbers.Count} of {PoolSize} numbers ({share:P0}); real visitors: {real.Count(r => r.Ok)} of {real.Count} " +
                          $"got a tracking number ({success:P1}), p99 {p99:F1} ms");
        var met = share <= (double)AttackerAddresses * Math.Max(2, PoolSize / 20) / PoolSize && success == 1.0 && memoryAfter < memoryBefore + (64L << 20);
        Console.WriteLine($"  goal: memory flat (within 64 MB), attackers within their addresses' caps, every real visitor served: {(met ? "met" : "NOT MET")}");
        return met;
    }

    private static (string Site, string Json) Body(string site, string path, string[] targets) => (site, JsonSerializer.Serialize(new
    {
        siteKey = site, url = $"https://bench.example{path}?utm_source=google&utm_medium=cpc", targets,
    }));

    private async Task<(HttpStatusCode Status, string? Number, bool Overflow)> Post((string Site, string Json) body, string address)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/dni/sessions?siteKey={body.Site}")
        {
            Content = new StringContent(body.Json, Encoding.UTF8, "text/plain"),
        };
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", address);
        try
        {
            using var response = await browser.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.OK) return (response.StatusCode, null, false);
            var swap = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0];
            return (response.StatusCode, swap.GetProperty("number").GetString(), swap.GetProperty("overflow").GetBoolean());
        }
        catch (HttpRequestException)
        {
            return (0, null, false);
        }
    }

    private long SiloMemory() => ProcessCpu.SiloMemory(state);
}
