using System.Diagnostics;
using CallMesh.Common;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace CallMesh.Calls;

/// <summary>What a new call's start reads: its tracking number (null when the tenant does not own it), the number's last two
/// holds up to the call's start, and the caller's history (null when it is too long to carry: the caller's grain reads it).</summary>
public sealed record StartFacts(Numbers.TrackingNumber? Number, List<Dni.HeldLease> Holds, CallerHistory? Caller);

/// <summary>
/// Reads what new calls' starts need, several starts to a round trip (<see cref="CallStore.AddStartCommands"/>). A read of
/// its own cost a round trip a call, and at 200 calls/s each round trip's wake-ups cost PostgreSQL and the silo more than
/// its four statements (docs/perf/inbound.md). A start runs behind the carrier's answer (the call journal): nobody hears
/// the wait for company.
/// </summary>
public sealed class CallStartReader : BackgroundService
{
    private const int MaxBatch = 64;
    private readonly NpgsqlDataSource _database;
    private readonly BatchQueue<Request> _queue = new(TimeSpan.FromMilliseconds(50), enough: 16, MaxBatch);
    private long _roundTrips;

    public CallStartReader(NpgsqlDataSource database, CallMeshMetrics metrics)
    {
        _database = database;
        metrics.Gauge("callmesh.calls.start_reads.depth", "{call}", "Call starts waiting for their read.", () => _queue.Count);
        metrics.Total("callmesh.calls.start_reads.round_trips", "{round_trip}",
            "Round trips that read call starts (fewer than the calls started when starts share them).", () => RoundTrips);
    }

    /// <summary>Round trips made so far (a batch, or a start read alone after its batch was refused).</summary>
    public long RoundTrips => Interlocked.Read(ref _roundTrips);

    public Task<StartFacts> ReadAsync(string tenantId, string number, DateTime at, string caller)
    {
        var request = new Request(tenantId, number, at, caller, Activity.Current?.Context ?? default);
        _queue.Add(request);
        return request.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Request>(MaxBatch);
        while (true)
        {
            await _queue.NextAsync(batch);
            try
            {
                await ReadBatchAsync(batch);
            }
            // Not an outage: one start's read was refused (a bad parameter, say). Each alone, so it fails only itself.
            catch (Exception e) when (batch.Count > 1 && e is not NpgsqlException { IsTransient: true })
            {
                foreach (var request in batch) await ReadAloneAsync(request);
            }
            catch (Exception e)
            {
                // An outage or a lost connection: every start of the batch fails, and the journal delivers each again.
                foreach (var request in batch) request.Done.TrySetException(e);
            }
            batch.Clear();
        }
    }

    /// <summary>Keeps reading while the rest of the silo stops: the call journal's deliveries still under way need it.</summary>
    public override Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task ReadBatchAsync(List<Request> batch)
    {
        using var span = Tracing.StartBehind("callmesh.calls.start_reads", batch[0].Cause,
            batch.Skip(1).Where(r => r.Cause != default).Take(16).Select(r => new ActivityLink(r.Cause)));
        span?.SetTag("callmesh.calls", batch.Count);
        await using var command = _database.CreateBatch();
        foreach (var r in batch) CallStore.AddStartCommands(command, r.Number, r.At, r.TenantId, r.Caller);
        Interlocked.Increment(ref _roundTrips);
        await using var reader = await command.ExecuteReaderAsync();
        for (var i = 0; i < batch.Count; i++)
        {
            if (i > 0) await reader.NextResultAsync();
            var facts = await CallStore.ReadStartAsync(reader, batch[i].TenantId);
            batch[i].Done.TrySetResult(facts);
        }
    }

    private async Task ReadAloneAsync(Request request)
    {
        try
        {
            await ReadBatchAsync([request]);
        }
        catch (Exception e)
        {
            request.Done.TrySetException(e);
        }
    }

    private sealed record Request(string TenantId, string Number, DateTime At, string Caller, ActivityContext Cause)
    {
        public TaskCompletionSource<StartFacts> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
