using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallMesh.Identity;

namespace CallMesh.Silo.Demo;

/// <summary>
/// Seeds the demo brand (Demo/demo-brand.json: tenant, locations, tracking numbers, pools, static numbers, site) through the public API of a running gateway,
/// exactly as a platform admin and a brand admin would: `seed-demo --gateway URL --key HEX`.
/// </summary>
public static class DemoSeeder
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = args.Chunk(2).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!options.TryGetValue("--gateway", out var gateway) || !options.TryGetValue("--key", out var key))
        {
            Console.Error.WriteLine("usage: seed-demo --gateway URL --key HEX [--file demo-brand.json]");
            return 2;
        }
        var file = options.GetValueOrDefault("--file") ?? Path.Combine(AppContext.BaseDirectory, "Demo", "demo-brand.json");
        using var http = new HttpClient { BaseAddress = new Uri(gateway) };
        var demo = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
        var (tenant, locations) = await SeedAsync(http, key, demo);
        var calls = await DemoCalls.SeedAsync(http, key, demo);
        Console.WriteLine($"demo brand '{tenant}' seeded with {locations} locations, {calls} calls today and a week of spend");
        return 0;
    }

    public static async Task<(string Tenant, int Locations)> SeedAsync(HttpClient http, string signingKeyHex, string file) =>
        await SeedAsync(http, signingKeyHex, JsonNode.Parse(await File.ReadAllTextAsync(file))!);

    public static async Task<(string Tenant, int Locations)> SeedAsync(HttpClient http, string signingKeyHex, JsonNode demo)
    {
        var tenant = demo["tenant"]!.AsObject();
        var tenantId = (string)tenant["id"]!;

        var platformAdmin = UserTokens.Mint(signingKeyHex, null, Roles.PlatformAdmin, subject: "demo-seeder");
        await SendAsync(http, HttpMethod.Put, platformAdmin, $"/v1/tenants/{tenantId}", tenant);

        var brandAdmin = UserTokens.Mint(signingKeyHex, tenantId, Roles.BrandAdmin, subject: "demo-seeder");
        var locations = demo["locations"]!.AsArray();
        foreach (var location in locations)
            await SendAsync(http, HttpMethod.Put, brandAdmin, $"/v1/tenants/{tenantId}/locations/{(string)location!["id"]!}", location);
        await SendAsync(http, HttpMethod.Post, brandAdmin, $"/v1/tenants/{tenantId}/numbers", demo["numbers"]!);
        foreach (var pool in demo["pools"]!.AsArray())
            await SendAsync(http, HttpMethod.Put, brandAdmin, $"/v1/tenants/{tenantId}/pools/{(string)pool!["id"]!}", pool);
        foreach (var number in demo["staticNumbers"]!.AsArray())
            await SendAsync(http, HttpMethod.Put, brandAdmin,
                $"/v1/tenants/{tenantId}/locations/{(string)number!["location"]!}/static-numbers/{(string)number["key"]!}", number);
        foreach (var site in demo["sites"]!.AsArray())
            await SendAsync(http, HttpMethod.Put, brandAdmin, $"/v1/tenants/{tenantId}/sites/{(string)site!["key"]!}", site);
        return (tenantId, locations.Count);
    }

    /// <summary>
    /// Sends one configuration request (a JSON body with a bearer token); a 429 from the gateway's limits waits as long as it
    /// says and tries again; anything else but 2xx throws with the problem returned.
    /// </summary>
    public static async Task SendAsync(HttpClient http, HttpMethod method, string token, string path, object body)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            if (response.StatusCode == System.Net.HttpStatusCode.TooManyRequests && attempt < 20)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return;
        }
    }
}
