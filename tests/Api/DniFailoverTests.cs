using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CallMesh.Silo.Demo;
using CallMesh.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace CallMesh.Tests.Api;

/// <summary>A silo dies while browsers are being given numbers: what was answered stays true, and nothing is leased twice.</summary>
[Collection(ProcessTests.Name)]
public sealed class DniFailoverTests(TestDatabase db, ITestOutputHelper output) : IClassFixture<TestDatabase>
{
    private sealed record Answer(HttpStatusCode? Status, string Location, Guid Visitor, string? Number, bool Overflow);

    [Fact]
    public async Task A_silo_killed_under_a_stream_of_new_visitors_loses_no_answered_lease_and_leases_no_number_twice()
    {
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 3);
        await DemoSeeder.SeedAsync(cluster.Http, cluster.SigningKeyHex, Repo.DemoBrandFile);
        var demo = JsonDocument.Parse(await File.ReadAllTextAsync(Repo.DemoBrandFile)).RootElement;
        // A location page shows the location's own number, so its visitors lease from that location's pool of five.
        var pages = demo.GetProperty("locations").EnumerateArray()
            .Select(l => (Id: l.GetProperty("id").GetString()!, Nap: l.GetProperty("napPhone").GetString()!)).ToList();
        var poolNumbers = demo.GetProperty("pools").EnumerateArray()
            .Where(p => p.TryGetProperty("location", out var l) && l.ValueKind == JsonValueKind.String)
            .ToDictionary(p => p.GetProperty("location").GetString()!, p => p.GetProperty("numbers").EnumerateArray().Select(n => n.GetString()!).ToHashSet());

        // Six new visitors per location (one more than its pool holds), four at a time over about 11 s. Silo 2 is
        // killed once a quarter of them are sent, so its pools and visitors move while requests are in flight.
        var answers = new ConcurrentBag<Answer>();
        var queue = new ConcurrentQueue<(string Id, string Nap)>(Enumerable.Range(0, 6).SelectMany(_ => pages));
        var total = queue.Count;
        var sent = 0;
        async Task Browser()
        {
            while (queue.TryDequeue(out var page))
            {
                if (Interlocked.Increment(ref sent) == total / 4) cluster.Kill(cluster.Silos[1]);
                answers.Add(await StartSession(cluster, page.Id, page.Nap));
                await Task.Delay(300);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Browser()));

        var refused = answers.Where(a => a.Status != HttpStatusCode.OK).ToList();
        output.WriteLine($"{answers.Count} requests, {refused.Count} not 200: {string.Join(", ", refused.Select(a => (int?)a.Status))}");
        // A request caught on the dead silo is a 503 for the script to retry: never a 500, never no answer.
        Assert.All(refused, a => Assert.Equal(HttpStatusCode.ServiceUnavailable, a.Status));
        Assert.True(refused.Count <= total / 4, $"{refused.Count} of {total} requests were refused");

        // Each leased number is from the page's own pool, and no number went to two visitors (leases last 30 minutes).
        var leased = answers.Where(a => a.Status == HttpStatusCode.OK && !a.Overflow).ToList();
        Assert.All(leased, a => Assert.Contains(a.Number!, poolNumbers[a.Location]));
        Assert.Equal(leased.Count, leased.Select(a => a.Number).Distinct().Count());
        // The pools went on leasing after the kill: all five numbers of each are out, less any held by a refused request.
        Assert.True(leased.Count >= pages.Count * 5 - refused.Count, $"only {leased.Count} numbers leased from {pages.Count} pools of 5");

        // Every answer a browser was given is in the lease history: the visitor's live hold, or its overflow answer.
        var journaled = new HashSet<(Guid, string, string)>();
        await using (var connection = new NpgsqlConnection(db.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT visitor_id, number, kind FROM callmesh.number_leases WHERE tenant_id = 'bluebonnet' AND (released_at IS NULL OR kind = 'overflow')",
                connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) journaled.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2)));
        }
        Assert.All(answers.Where(a => a.Status == HttpStatusCode.OK),
            a => Assert.Contains((a.Visitor, a.Number!, a.Overflow ? "overflow" : "lease"), journaled));
    }

    private static async Task<Answer> StartSession(ProcessCluster cluster, string location, string nap)
    {
        try
        {
            using var response = await cluster.DniSessionAsync($"http://localhost/locations/{location}", [nap],
                clientIp: $"198.51.100.{Random.Shared.Next(1, 250)}");
            if (response.StatusCode != HttpStatusCode.OK) return new Answer(response.StatusCode, location, Guid.Empty, null, false);
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            var swap = json.GetProperty("swaps")[0];
            return new Answer(response.StatusCode, location, json.GetProperty("visitorId").GetGuid(),
                swap.GetProperty("number").GetString(), swap.GetProperty("overflow").GetBoolean());
        }
        catch (HttpRequestException)
        {
            return new Answer(null, location, Guid.Empty, null, false);   // the gateway itself did not answer
        }
    }
}
