using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using CallMesh.Identity;
using CallMesh.Silo.Carriers;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace CallMesh.Tests.Api;

/// <summary>
/// Calls ring through a PostgreSQL outage and a silo killed with calls it had not yet written: every answered call is
/// recorded once after recovery, from the killed silo's journal too. On a server of the test's own, stopped for real.
/// </summary>
[Collection(ProcessTests.Name)]
public sealed class CallsAlwaysRingTests(ITestOutputHelper output)
{
    private const string Tenant = "bluebonnet";
    private const string AustinGbp = "+15125550180";                                     // Austin's static GBP number
    private static readonly string[] AustinPhones = ["+17375550101", "+15125550199"];   // its forward and after-hours numbers

    [Fact]
    public async Task Calls_ring_while_PostgreSQL_is_down_and_a_silo_is_killed_and_are_all_recorded_once_after()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(postgres.ConnectionString, silos: 2);
        await DemoSeeder.SeedAsync(cluster.Http, cluster.SigningKeyHex, Repo.DemoBrandFile);
        var carrier = new TwilioCarrier(cluster);
        await carrier.RegisterAsync(Tenant, cluster.Token(Tenant, Roles.BrandAdmin));
        await Task.Delay(500);   // the silos' routing copies hear of the account

        await postgres.StopAsync();

        // Through the gateway, to both silos: every call is answered with its location's numbers, every callback taken.
        var calls = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var sid = TwilioCarrier.NewCallSid();
            calls.Add(sid);
            using var inbound = await carrier.Webhook("/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(sid, AustinGbp));
            AssertRingsAustin(inbound, await inbound.Content.ReadAsStringAsync());
            await carrier.CompleteAsync(sid, talkSeconds: 70 + i);
        }

        // DNI cannot make a lease durable: a 503 to retry later (the script keeps the page's own numbers), never a 500.
        var dni = JsonSerializer.Serialize(new { siteKey = "bluebonnet-web", url = "http://localhost/locations/katy", targets = new[] { "+17135550116" } });
        using (var session = await cluster.SendAsync(HttpMethod.Post, "/v1/dni/sessions?siteKey=bluebonnet-web", null,
                   new StringContent(dni, Encoding.UTF8, "text/plain")))
        {
            await ProblemAssert.Is(session, HttpStatusCode.ServiceUnavailable, "temporarily-unavailable");
            Assert.NotNull(session.Headers.RetryAfter);
        }
        using (var list = await cluster.SendAsync(HttpMethod.Get, $"/v1/tenants/{Tenant}/calls", cluster.Token(Tenant, Roles.BrandAdmin)))
            await ProblemAssert.Is(list, HttpStatusCode.ServiceUnavailable, "temporarily-unavailable");
        // Degraded, not unready: the gateway keeps both silos in rotation.
        using (var ready = await cluster.Http.GetAsync("/health/ready"))
            Assert.Equal(2, (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("healthySilos").GetInt32());

        // Straight to silo 2, which is then killed before the database is back: its journal holds these calls.
        var direct = new List<string>();
        using (var silo2 = new HttpClient { BaseAddress = cluster.SiloUrls[1] })
            for (var i = 0; i < 5; i++)
            {
                var sid = TwilioCarrier.NewCallSid();
                direct.Add(sid);
                using var inbound = await silo2.SendAsync(TwilioSignature.SignedRequest(TwilioCarrier.AuthToken, cluster.SiloUrls[1],
                    "/v1/voice/twilio/inbound", TwilioCarrier.InboundForm(sid, AustinGbp)));
                AssertRingsAustin(inbound, await inbound.Content.ReadAsStringAsync());
            }
        cluster.Kill(cluster.Silos[1]);
        await cluster.Silos[1].WaitForExitAsync();
        Assert.NotEmpty(Directory.GetFiles(cluster.JournalDirectory(1), "calls-*.jsonl"));

        await postgres.StartAsync();
        cluster.Restart(1);
        await cluster.WaitReadyAsync();

        // Every answered call is recorded once, with the callbacks that came during the outage applied.
        var all = calls.Concat(direct).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<(string Id, string Status, int Talk, string Route)> rows;
        while ((rows = await Rows(postgres.ConnectionString, all)).Count < all.Length && DateTime.UtcNow < deadline) await Task.Delay(250);
        while (rows.Count(r => r.Status == "completed") < calls.Count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            rows = await Rows(postgres.ConnectionString, all);
        }
        output.WriteLine($"{rows.Count} of {all.Length} calls recorded, {rows.Count(r => r.Status == "completed")} completed");
        Assert.Equal(all.Order(), rows.Select(r => r.Id).Order());
        Assert.All(rows.Where(r => calls.Contains(r.Id)), r => Assert.Equal("completed", r.Status));
        Assert.Equal(calls.Select((_, i) => 70 + i), rows.Where(r => calls.Contains(r.Id)).OrderBy(r => calls.IndexOf(r.Id)).Select(r => r.Talk));
        Assert.All(rows, r => Assert.Contains(r.Route, new[] { "open", "after-hours" }));
    }

    private static void AssertRingsAustin(HttpResponseMessage response, string body)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
        var number = XDocument.Parse(body).Root!.Element("Dial")?.Element("Number")?.Value;
        Assert.Contains(number, AustinPhones);
    }

    private static async Task<List<(string, string, int, string)>> Rows(string postgres, string[] callIds)
    {
        try
        {
            await using var connection = new NpgsqlConnection(postgres);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT call_id, status, talk_seconds, route FROM callmesh.calls WHERE call_id = ANY($1)", connection);
            command.Parameters.Add(new() { Value = callIds });
            var rows = new List<(string, string, int, string)>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3)));
            return rows;
        }
        catch (NpgsqlException)
        {
            return [];   // still starting
        }
    }
}
