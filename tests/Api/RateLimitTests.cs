using System.Net;
using CallMesh.Identity;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>One silo and the gateway with small budgets: 10 webhooks a second per carrier account, 100 requests a minute per tenant.</summary>
public sealed class RateLimitFixture : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();
    public ProcessCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        Cluster = await ProcessCluster.StartAsync(Database.ConnectionString, silos: 1,
            gatewaySettings: new() { ["CALLMESH_RATELIMIT__APIPERTENANTPERMINUTE"] = "100" },
            siloSettings: new() { ["CALLMESH_RATELIMIT__WEBHOOKSPERACCOUNTPERSECOND"] = "10" });
        await DemoSeeder.SeedAsync(Cluster.Http, Cluster.SigningKeyHex, Repo.DemoBrandFile);
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>Budgets keyed by who is proven to be asking, so nobody can spend another's.</summary>
[Collection(ProcessTests.Name)]
public sealed class RateLimitTests(RateLimitFixture fixture) : IClassFixture<RateLimitFixture>
{
    /// <summary>
    /// A carrier account's webhooks have a budget per silo (silo/Api/SiteLimits.cs: WebhookLimits), spent only by webhooks
    /// its token signed: a replayed flood is refused with 429 and Retry-After, forged requests spend nothing, and the
    /// carrier's fallback URL, which the gateway answers alone, still rings the location meanwhile.
    /// </summary>
    [Fact]
    public async Task A_flood_of_signed_webhooks_is_refused_past_the_accounts_budget_while_the_fallback_still_rings()
    {
        var cluster = fixture.Cluster;
        var carrier = new TwilioCarrier(cluster);
        await carrier.RegisterAsync("bluebonnet", cluster.Token("bluebonnet", Roles.BrandAdmin));
        const string gbp = "+15125550180";
        // The gateway's own routing copy (its fallback URL's) has the account within a second or two of its registration.
        for (var i = 0; i < 40; i++)
        {
            using var early = await carrier.Webhook("/v1/voice/twilio/fallback", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), gbp));
            if (early.StatusCode == HttpStatusCode.OK) break;
            await Task.Delay(250);
        }
        await Task.Delay(1100);   // the account's budget full again

        var flood = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ =>
            carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), gbp))));
        var refused = flood.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.All(flood, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.InRange(refused.Count, 30, 50);   // a burst of 10 and 10 a second while 60 arrive at once
        Assert.All(refused, r => Assert.True(r.Headers.RetryAfter is not null));
        Assert.Contains("rate-limited", await refused[0].Content.ReadAsStringAsync());
        foreach (var r in flood) r.Dispose();

        // While the primary URL refuses, the carrier calls the fallback URL: the gateway answers it from its own copy.
        using (var fallback = await carrier.Webhook("/v1/voice/twilio/fallback", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), gbp)))
        {
            Assert.Equal(HttpStatusCode.OK, fallback.StatusCode);
            Assert.Contains("<Dial", await fallback.Content.ReadAsStringAsync());
        }

        // Forged webhooks spend nothing: after the budget refilled, 50 of them, then 10 signed ones all answered.
        await Task.Delay(1500);
        foreach (var _ in Enumerable.Range(0, 50))
        {
            using var forged = await carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), gbp), "not-the-token-0123456789");
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        }
        var signed = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(TwilioCarrier.NewCallSid(), gbp))));
        Assert.All(signed, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in signed) r.Dispose();
    }

    /// <summary>A tenant's signed-in users share one budget at the gateway; another tenant's users are untouched by it.</summary>
    [Fact]
    public async Task A_tenants_users_share_a_budget_that_another_tenant_and_anonymous_requests_cannot_spend()
    {
        var cluster = fixture.Cluster;
        (await cluster.SendAsync(HttpMethod.Put, "/v1/tenants/limited", cluster.Token(null, Roles.PlatformAdmin),
            new { name = "Limited", timeZone = "America/Chicago", currency = "USD" })).EnsureSuccessStatusCode();
        // Anonymous requests naming the tenant spend nothing of it (401 at the gateway).
        foreach (var _ in Enumerable.Range(0, 120))
        {
            using var anonymous = await cluster.SendAsync(HttpMethod.Get, "/v1/tenants/limited/locations", token: null);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }
        var statuses = new List<HttpStatusCode>();
        var timer = System.Diagnostics.Stopwatch.StartNew();
        foreach (var i in Enumerable.Range(0, 120))
        {
            // Two users of the tenant, taking turns: one budget.
            var token = cluster.Token("limited", i % 2 == 0 ? Roles.BrandAdmin : Roles.Analyst);
            using var response = await cluster.SendAsync(HttpMethod.Get, "/v1/tenants/limited/locations", token);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.Contains("rate-limited", await response.Content.ReadAsStringAsync());
            }
        }
        // 100, and what refilled meanwhile (100 a minute).
        var served = statuses.Count(s => s == HttpStatusCode.OK);
        Assert.True(served >= 100 && served <= 101 + timer.Elapsed.TotalSeconds * 100 / 60, $"{served} in {timer.Elapsed.TotalSeconds:F1} s");
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        // Another tenant's user is not held back by it.
        using var other = await cluster.SendAsync(HttpMethod.Get, "/v1/tenants/bluebonnet/locations", cluster.Token("bluebonnet", Roles.Analyst));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }
}
