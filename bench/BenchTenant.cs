using System.Net.Http.Headers;
using System.Net.Http.Json;
using CallMesh.Identity;
using CallMesh.Silo.Demo;

namespace CallMesh.Bench;

/// <summary>A fresh tenant per run: 8 locations, each with a big pool, and 64 sites (as many brands' pages would be).</summary>
public static class BenchTenant
{
    public const int PoolSize = 2000;
    private const int Locations = 8;
    private const int Sites = 64;

    public sealed record Seed(string Tenant, List<string> Sites, List<string> Targets, List<string> PoolNumbers);

    public static async Task<Seed> SeedAsync(HttpClient http, string key)
    {
        var tenant = $"bench-{DateTime.UtcNow:MMddHHmmss}";
        await DemoSeeder.SendAsync(http, HttpMethod.Put, UserTokens.Mint(key, null, Roles.PlatformAdmin), $"/v1/tenants/{tenant}",
            new { name = "Bench Brand", timeZone = "America/Chicago", currency = "USD" });
        var admin = UserTokens.Mint(key, tenant, Roles.BrandAdmin);
        var targets = new List<string>();
        var poolNumbers = new List<string>();
        for (var l = 0; l < Locations; l++)
        {
            // A random Texas exchange per location; one that another run or location imported already is passed over.
            var (prefix, numbers) = await ImportFreshExchange(http, admin, tenant);
            var nap = $"{prefix}9998";
            targets.Add(nap);
            await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{tenant}/locations/loc-{l}", new
            {
                name = $"Bench {l}", address = new { line1 = "1 Main St", city = "Austin", region = "TX", postalCode = "78701", country = "US" },
                napPhone = nap, forwardTo = $"{prefix}9999", timeZone = "America/Chicago",
            });
            await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{tenant}/pools/loc-{l}-web",
                new { location = $"loc-{l}", numbers = numbers[..PoolSize], overflowNumber = numbers[PoolSize] });
            poolNumbers.AddRange(numbers[..PoolSize]);
        }
        var sites = Enumerable.Range(0, Sites).Select(s => $"{tenant}-site-{s}").ToList();
        foreach (var site in sites)
            await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{tenant}/sites/{site}", new { domains = new[] { "bench.example" } });
        return new Seed(tenant, sites, targets, poolNumbers);
    }

    private static readonly string[] AreaCodes = ["512", "737", "214", "469", "972", "817", "682", "713", "281", "832", "346", "210", "726", "830", "254", "361", "409", "903", "915", "936"];

    internal static async Task<(string Prefix, List<string> Numbers)> ImportFreshExchange(HttpClient http, string admin, string tenant)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var prefix = $"+1{AreaCodes[Random.Shared.Next(AreaCodes.Length)]}{Random.Shared.Next(200, 1000)}";
            var numbers = Enumerable.Range(1, PoolSize + 1).Select(i => $"{prefix}{i:D4}").ToList();
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/tenants/{tenant}/numbers")
            {
                Content = JsonContent.Create(numbers.Select(n => new { number = n, carrier = "twilio" })),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
            using var response = await http.SendAsync(request);
            // Only an exchange that is wholly new: one this tenant already imported (two locations drawing the same
            // exchange: 200, none imported) would put the same numbers in two pools, which the pool refuses. Draw again.
            if (response.IsSuccessStatusCode)
            {
                if ((await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("imported").GetInt32() == numbers.Count)
                    return (prefix, numbers);
                continue;
            }
            if (response.StatusCode != System.Net.HttpStatusCode.Conflict && response.StatusCode != System.Net.HttpStatusCode.BadRequest)
                throw new InvalidOperationException($"import: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        throw new InvalidOperationException("no free exchange found for bench numbers");
    }
}
