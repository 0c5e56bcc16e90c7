using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallMesh.Carriers;
using CallMesh.Identity;

namespace CallMesh.Silo.Demo;

/// <summary>
/// Today's traffic for the demo brand, so its reports are not empty: visitors arrive from ads and search on
/// location pages (real DNI sessions), some call the number they were shown and others a Google Business
/// Profile number; the calls arrive as signed carrier webhooks, most are answered, some become sales or
/// appointments; and a week of search spend is imported. Everything goes through the public API.
/// </summary>
public static class DemoCalls
{
    private const string CarrierToken = "demo-carrier-auth-token-not-secret";

    private static readonly string[] Ads =
    [
        "utm_source=google&utm_medium=cpc&utm_campaign=search-local&utm_term=plumber+near+me&gclid=demo",
        "utm_source=facebook&utm_medium=paid-social&utm_campaign=spring-promo",
        "utm_source=bing&utm_medium=cpc&utm_campaign=search-local&utm_term=ac+repair",
        "utm_source=google&utm_medium=organic",
    ];

    public static async Task<int> SeedAsync(HttpClient http, string signingKeyHex, JsonNode demo)
    {
        var tenant = (string)demo["tenant"]!["id"]!;
        var accountSid = (string)demo["numbers"]![0]!["accountSid"]!;
        var admin = UserTokens.Mint(signingKeyHex, tenant, Roles.BrandAdmin, subject: "demo-seeder");
        await DemoSeeder.SendAsync(http, HttpMethod.Put, admin, $"/v1/tenants/{tenant}/carriers/{accountSid}", new { carrier = "twilio", authToken = CarrierToken });

        var random = new Random(2026);
        var locations = demo["locations"]!.AsArray().Select(l => ((string)l!["id"]!, (string)l["napPhone"]!)).ToList();
        var gbp = demo["staticNumbers"]!.AsArray().Select(n => (string)n!["number"]!).ToList();
        var site = (string)demo["sites"]![0]!["key"]!;
        var calls = 0;
        for (var i = 0; i < 60; i++)
        {
            string to;
            if (i % 4 == 3) to = gbp[random.Next(gbp.Count)];
            else
            {
                // A visitor lands on a location page from an ad and is shown a number from that location's pool.
                var (location, nap) = locations[random.Next(locations.Count)];
                using var session = await http.PostAsync($"/v1/dni/sessions?siteKey={site}", new StringContent(JsonSerializer.Serialize(new
                {
                    siteKey = site, url = $"http://localhost/locations/{location}?{Ads[random.Next(Ads.Length)]}", targets = new[] { nap },
                })));
                if (!session.IsSuccessStatusCode) continue;
                to = (await session.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("swaps")[0].GetProperty("number").GetString()!;
            }
            var callSid = $"CAdemo{DateTime.UtcNow:yyyyMMdd}{i:D4}{random.Next(1_000_000):D6}";
            var from = $"+1{random.Next(200, 999)}555{random.Next(100, 200):D4}";
            if (!await Webhook(http, "/v1/voice/twilio/inbound", new()
            {
                ["AccountSid"] = accountSid, ["CallSid"] = callSid, ["CallStatus"] = "ringing",
                ["Direction"] = "inbound", ["From"] = from, ["To"] = to
            })) continue;
            calls++;
            var answered = random.Next(4) > 0;
            var talk = answered ? random.Next(15, 600) : 0;
            await Webhook(http, "/v1/voice/twilio/dial-action", new()
            {
                ["AccountSid"] = accountSid, ["CallSid"] = callSid,
                ["DialCallStatus"] = answered ? "completed" : "no-answer", ["DialCallDuration"] = $"{talk}", ["DialBridged"] = answered ? "true" : "false"
            });
            await Webhook(http, "/v1/voice/twilio/status", new()
            {
                ["AccountSid"] = accountSid, ["CallSid"] = callSid, ["CallStatus"] = "completed",
                ["CallDuration"] = $"{talk + 12}", ["SequenceNumber"] = "0"
            });
            if (answered && talk >= 60 && random.Next(3) == 0 && await RecordedAsync(http, admin, tenant, callSid))
                await DemoSeeder.SendAsync(http, HttpMethod.Post, admin, $"/v1/tenants/{tenant}/calls/{callSid}/outcome", random.Next(2) == 0
                    ? new { outcome = "sale", value = (decimal?)(random.Next(150, 2500) + 0.99m) }
                    : new { outcome = "appointment", value = (decimal?)null });
        }

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var spend = Enumerable.Range(0, 7).SelectMany(d => locations.Select(l => new
        {
            date = today.AddDays(-d).ToString("yyyy-MM-dd"), location = l.Item1, source = "google", campaign = "search-local",
            cost = random.Next(2000, 9000) / 100m, currency = (string)demo["tenant"]!["currency"]!,
        })).ToList();
        await DemoSeeder.SendAsync(http, HttpMethod.Post, admin, $"/v1/tenants/{tenant}/spend", new { rows = spend });
        return calls;
    }

    /// <summary>A form posted the way the carrier does, signed over the gateway's URL.</summary>
    /// <summary>The call is recorded behind the carrier's answer (docs/calls-always-ring.md): the CRM's outcome waits for it.</summary>
    private static async Task<bool> RecordedAsync(HttpClient http, string admin, string tenant, string callSid)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/tenants/{tenant}/calls/{callSid}");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin);
            using var response = await http.SendAsync(request);
            if (response.IsSuccessStatusCode) return true;
            await Task.Delay(50);
        }
        return false;
    }

    private static async Task<bool> Webhook(HttpClient http, string path, Dictionary<string, string> form)
    {
        using var request = TwilioSignature.SignedRequest(CarrierToken, http.BaseAddress!, path, form);
        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode;
    }
}
