using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Identity;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>Retention, erasure and exports through the real gateway, on calls made by signed carrier webhooks to the demo brand.</summary>
[Collection(ProcessTests.Name)]
public sealed class HistoryApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>, IAsyncLifetime
{
    private const string Tenant = "bluebonnet";
    private ProcessCluster Cluster => fixture.Cluster;
    private TwilioCarrier Carrier => new(fixture.Cluster);
    private string Admin => Cluster.Token(Tenant, Roles.BrandAdmin);
    private string KatyManager => Cluster.Token(Tenant, Roles.LocationManager, ["katy"]);

    public Task InitializeAsync() => Carrier.RegisterAsync(Tenant, Admin);

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<string> CallAsync(string to, string from, int talkSeconds, string? recordingUrl = null)
    {
        var callSid = TwilioCarrier.NewCallSid();
        using var inbound = await Carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(callSid, to, from));
        Assert.Equal(HttpStatusCode.OK, inbound.StatusCode);
        await Carrier.CompleteAsync(callSid, talkSeconds, recordingUrl);
        return callSid;
    }

    private async Task<string> Text(string path, string token)
    {
        using var response = await Cluster.SendAsync(HttpMethod.Get, path, token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Erasing_a_caller_removes_the_number_from_every_answer_keeps_report_counts_and_only_brand_admins_may()
    {
        var number = $"+1512555{Random.Shared.Next(1000, 10_000)}";
        var callSid = await CallAsync("+15125550180", number, 80, "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1");
        using (var block = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/blocked-callers/{Uri.EscapeDataString(number)}", Admin, new { reason = "asked us" }))
            Assert.Equal(HttpStatusCode.NoContent, block.StatusCode);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var range = $"from={today.AddDays(-1):yyyy-MM-dd}&to={today.AddDays(1):yyyy-MM-dd}";
        var reportBefore = await Text($"/v1/tenants/{Tenant}/reports/locations?{range}", Admin);
        Assert.Contains(number, await Text($"/v1/tenants/{Tenant}/calls/{callSid}", Admin));

        using (var manager = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/privacy/erase", KatyManager, new { phoneNumber = number }))
            await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
        using (var stranger = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/privacy/erase", Cluster.Token("other-brand", Roles.BrandAdmin), new { phoneNumber = number }))
            Assert.Equal(HttpStatusCode.NotFound, stranger.StatusCode);
        using (var invalid = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/privacy/erase", Admin, new { phoneNumber = "512-555" }))
            await ProblemAssert.Is(invalid, HttpStatusCode.BadRequest, "validation");
        Assert.Contains(number, await Text($"/v1/tenants/{Tenant}/calls/{callSid}", Admin));   // nothing changed so far

        using (var erase = await Cluster.SendAsync(HttpMethod.Post, $"/v1/tenants/{Tenant}/privacy/erase", Admin, new { phoneNumber = number }))
        {
            Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
            var result = await erase.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(1, result.GetProperty("callsChanged").GetInt32());
            Assert.True(result.GetProperty("unblocked").GetBoolean());
            Assert.True(result.GetProperty("auditEntriesChanged").GetInt32() >= 1);
        }
        var call = JsonDocument.Parse(await Text($"/v1/tenants/{Tenant}/calls/{callSid}", Admin)).RootElement;
        Assert.Equal(("erased", JsonValueKind.Null), (call.GetProperty("caller").GetString(), call.GetProperty("recordingUrl").ValueKind));
        Assert.Equal(80, call.GetProperty("talkSeconds").GetInt32());
        foreach (var path in new[] { "calls?limit=500", "blocked-callers", "audit?limit=500", "exports/calls.csv", "exports/calls.ndjson" })
            Assert.DoesNotContain(number, await Text($"/v1/tenants/{Tenant}/{path}", Admin));
        // Reports count the call as before.
        Assert.Equal(reportBefore.Split("\"items\"")[1], (await Text($"/v1/tenants/{Tenant}/reports/locations?{range}", Admin)).Split("\"items\"")[1]);
    }

    [Fact]
    public async Task Exports_stream_the_callers_scope_oldest_first_in_pages_that_resume_from_the_link_header()
    {
        var since = DateTime.UtcNow.AddSeconds(-1);
        var made = new List<string>
        {
            await CallAsync("+15125550180", "+14155550171", 30),   // Austin downtown
            await CallAsync("+12815550122", "+14155550172", 40),   // Katy
            await CallAsync("+12815550122", "+14155550173", 50),   // Katy
        };
        var window = $"from={Uri.EscapeDataString(since.ToString("O"))}&to={Uri.EscapeDataString(DateTime.UtcNow.AddSeconds(1).ToString("O"))}";

        async Task<List<JsonElement>> AllPages(string token)
        {
            var rows = new List<JsonElement>();
            for (string? next = $"/v1/tenants/{Tenant}/exports/calls.ndjson?{window}&limit=2"; next is not null;)
            {
                using var response = await Cluster.SendAsync(HttpMethod.Get, next, token);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType!.MediaType);
                var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.InRange(lines.Length, 1, 2);
                rows.AddRange(lines.Select(l => JsonDocument.Parse(l).RootElement));
                next = response.Headers.TryGetValues("Link", out var links)
                    ? links.Single().Split('>')[0].TrimStart('<') : null;
            }
            return rows;
        }
        var all = await AllPages(Admin);
        Assert.Equal(made, all.Select(r => r.GetProperty("id").GetString()!).Where(made.Contains));
        var starts = all.Select(r => r.GetProperty("startedAt").GetDateTime()).ToList();
        Assert.Equal(starts.Order(), starts);
        // A location manager's export holds its own location's calls only.
        var katy = await AllPages(KatyManager);
        Assert.Equal(made[1..], katy.Select(r => r.GetProperty("id").GetString()!).Where(made.Contains));
        Assert.All(katy, r => Assert.Equal("katy", r.GetProperty("location").GetString()));

        var csv = (await Text($"/v1/tenants/{Tenant}/exports/calls.csv?{window}", Admin)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("id,location,trackingNumber,numberKind,pool,staticKey,caller,startedAt", csv[0]);
        Assert.Equal(all.Count, csv.Length - 1);
        Assert.Contains(csv, line => line.StartsWith($"{made[2]},katy,+12815550122,", StringComparison.Ordinal));

        using (var badCursor = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/exports/calls.csv?cursor=nope", Admin))
            await ProblemAssert.Is(badCursor, HttpStatusCode.BadRequest, "validation");
        using (var badLimit = await Cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/exports/calls.ndjson?limit=0", Admin))
            await ProblemAssert.Is(badLimit, HttpStatusCode.BadRequest, "validation");
    }

    [Fact]
    public async Task Retention_is_set_by_brand_admins_within_limits()
    {
        using (var invalid = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/retention", Admin, new { callMonths = 0 }))
            await ProblemAssert.Is(invalid, HttpStatusCode.BadRequest, "validation");
        using (var manager = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/retention", KatyManager, new { callMonths = 24 }))
            await ProblemAssert.Is(manager, HttpStatusCode.Forbidden, "forbidden");
        using (var put = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/retention", Admin, new { callMonths = 240 }))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(240, JsonDocument.Parse(await Text($"/v1/tenants/{Tenant}/retention", Admin)).RootElement.GetProperty("callMonths").GetInt32());
        using (var keep = await Cluster.SendAsync(HttpMethod.Put, $"/v1/tenants/{Tenant}/retention", Admin, new { callMonths = (int?)null }))
            Assert.Equal(HttpStatusCode.OK, keep.StatusCode);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(await Text($"/v1/tenants/{Tenant}/retention", Admin)).RootElement.GetProperty("callMonths").ValueKind);
    }
}
