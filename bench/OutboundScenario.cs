using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallMesh.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CallMesh.Bench;

/// <summary>
/// `--scenarios outbound` (docs/outbound.md): what conversions out cost the inbound path and how fast the outbox drains.
/// Inbound calls at a fixed rate without any destination, then with a webhook destination taking every event type (sent
/// live to a receiver in this process): the silo's and PostgreSQL's CPU per call, and the TwiML p99, side by side. Then
/// the destination is paused while calls pile up events, resumed, and timed until the receiver has every one of them.
/// The silos must allow loopback destinations: `CALLMESH_OUTBOUND__ALLOWPRIVATENETWORKS=true ./callmesh up`.
/// </summary>
public sealed class OutboundScenario(HttpClient http, InboundCalls calls, NpgsqlDataSource db, string tenant, string signingKey,
    double rate, TimeSpan duration, Func<string, double, Func<Task<bool>>, Task<Measurement>> steady)
{
    private string Admin => UserTokens.Mint(signingKey, tenant, Roles.BrandAdmin);

    public async Task<bool> RunAsync()
    {
        var received = 0;
        var ids = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var port = FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        await using var receiver = builder.Build();
        receiver.Run(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            ids.AddOrUpdate(context.Request.Headers["webhook-id"].ToString(), 1, (_, n) => n + 1);
            Interlocked.Increment(ref received);
            context.Response.StatusCode = 200;
        });
        await receiver.StartAsync();

        await calls.CheckCompletedAsync(db);   // earlier scenarios' calls are written
        var without = await steady($"inbound at {rate:F0}/s, no destination", rate, calls.Call);
        await calls.CheckCompletedAsync(db);

        using var created = await SendAsync(HttpMethod.Post, $"/v1/tenants/{tenant}/destinations", new
        {
            kind = "webhook", name = "bench receiver", url = $"http://127.0.0.1:{port}/events",
            events = new[] { "call.started", "call.completed", "call.qualified", "outcome.set", "revenue.changed" },
        });
        if (created.StatusCode != HttpStatusCode.Created)
        {
            Console.WriteLine($"outbound: could not add a loopback destination ({(int)created.StatusCode}): start with " +
                              "CALLMESH_OUTBOUND__ALLOWPRIVATENETWORKS=true ./callmesh up");
            return false;
        }
        var destination = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        try
        {
            var with = await steady($"inbound at {rate:F0}/s, webhook on", rate, calls.Call);
            await calls.CheckCompletedAsync(db);
            var liveEvents = await EventsAsync(destination);
            var liveClock = Stopwatch.StartNew();
            while (received < liveEvents && liveClock.Elapsed < TimeSpan.FromMinutes(2)) await Task.Delay(50);
            Console.WriteLine($"  events sent live: {received} of {liveEvents} at the receiver {liveClock.Elapsed.TotalSeconds:F1} s after the phase");

            // A backlog: the destination paused while calls come in, then resumed and timed until it is empty.
            await PatchAsync(destination, "paused");
            await LoadRunner.OpenLoop("calls while paused", rate, duration, calls.Call);
            await calls.CheckCompletedAsync(db);
            var total = await EventsAsync(destination);
            var before = received;
            var clock = Stopwatch.StartNew();
            await PatchAsync(destination, "active");
            while (received - before < total - liveEvents && clock.Elapsed < TimeSpan.FromMinutes(5)) await Task.Delay(20);
            var drained = clock.Elapsed.TotalSeconds;
            var backlog = received - before;

            double Cost(Measurement m) => m.CpuPerRequest is { } c ? c.Silos + c.Postgres : double.NaN;
            Console.WriteLine();
            Console.WriteLine($"outbound: {without}");
            Console.WriteLine($"outbound: {with}");
            Console.WriteLine($"outbound: added silo + PostgreSQL CPU per call with a webhook on every event: " +
                              $"{Cost(with) - Cost(without):F0} µs ({Cost(without):F0} → {Cost(with):F0} µs)");
            Console.WriteLine($"outbound: TwiML p99 {without.P99Ms:F2} → {with.P99Ms:F2} ms (the outbox is written behind the answer)");
            Console.WriteLine($"outbound: backlog of {total - liveEvents} events drained in {drained:F1} s: {backlog / drained:F0} events/s to one receiver");
            var duplicates = ids.Values.Count(n => n > 1);
            Console.WriteLine($"outbound: {ids.Count} distinct event ids of {total} in the outbox, {duplicates} received twice" +
                              (ids.Count == total ? "" : " — MISSING"));
            return ids.Count == total;
        }
        finally
        {
            using var deleted = await SendAsync(HttpMethod.Delete, $"/v1/tenants/{tenant}/destinations/{destination}", null);
        }
    }

    private async Task PatchAsync(string destination, string state)
    {
        using var response = await SendAsync(HttpMethod.Patch, $"/v1/tenants/{tenant}/destinations/{destination}", new { state });
        response.EnsureSuccessStatusCode();
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Admin);
        return http.SendAsync(request);
    }

    private async Task<int> EventsAsync(string destination)
    {
        await using var command = db.CreateCommand("SELECT count(*) FROM callmesh.deliveries WHERE destination_id = $1");
        command.Parameters.Add(new() { Value = destination });
        return (int)(long)(await command.ExecuteScalarAsync())!;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
