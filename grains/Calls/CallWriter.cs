using System.Diagnostics;
using System.Threading.Channels;
using CallMesh.Common;
using CallMesh.Reports;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CallMesh.Calls;

/// <summary>
/// Writes the calls' rows, their rollup changes and their outbox events, many calls to a transaction. Each
/// <see cref="CallGrain"/> waits for the commit that holds its change (it never tells the journal "done" before), so
/// nothing is acknowledged earlier than with a transaction per change; but a call's rollup rows are updated once per
/// batch, not once per call and change, and the commit's WAL flush is shared (docs/perf/inbound.md).
/// </summary>
public sealed class CallWriter : BackgroundService
{
    private const int MaxBatch = 256;

    // Two lanes, a location's changes always in the same one: one transaction at a time used one core of PostgreSQL at
    // most, and at peak the calls' rows were written 40 s behind their answers. Lanes never share a location's rollup
    // rows or a call's row, so they never wait on each other's locks.
    private const int Lanes = 2;

    // At 200 calls/s a transaction carried one or two changes, each paying its own round trips, commit and rollup upserts
    // (PostgreSQL spent twice the CPU per call it does flat out), so a lane waits up to 50 ms for company. The call journal
    // hands over at most 64 changes at a time, about 32 a lane: a lane that waited for more than that, right after writing
    // its batch, would wait for changes that can only come once it writes; 16 is company enough (docs/perf/inbound.md).
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(50);
    private const int Enough = 16;

    private readonly NpgsqlDataSource _database;
    private readonly TimeProvider _clock;
    private readonly ILogger<CallWriter> _logger;
    private readonly BatchQueue<Pending>[] _lanes = [.. Enumerable.Range(0, Lanes).Select(_ => new BatchQueue<Pending>(Linger, Enough, MaxBatch))];
    private long _transactions;

    public CallWriter(NpgsqlDataSource database, TimeProvider clock, ILogger<CallWriter> logger, CallMeshMetrics metrics)
    {
        (_database, _clock, _logger) = (database, clock, logger);
        metrics.Gauge("callmesh.calls.writer.depth", "{change}", "Call changes waiting for their transaction.", () => _lanes.Sum(l => l.Count));
        metrics.Total("callmesh.calls.writer.transactions", "{transaction}",
            "Transactions the call writer began (fewer than the changes when changes share them).", () => Transactions);
    }

    /// <summary>Transactions begun so far (a batch, or a change alone after its batch was refused).</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>
    /// Writes a new call's row, adds it to its location's rollups and queues its events; false when the call already had a
    /// row (a retried delivery: then nothing changes).
    /// </summary>
    public Task<bool> InsertAsync(CallRecord call) => Enqueue(call, before: null);

    /// <summary>
    /// Changes the call's row from <paramref name="before"/> (the grain's last written or loaded revision) to
    /// <paramref name="call"/>, and its rollup contribution with it, with the events between the two. False, changing
    /// nothing, when the stored revision is not <paramref name="before"/>'s: someone else (a rules rebuild) wrote the call
    /// meanwhile; load it and apply again.
    /// </summary>
    public Task<bool> SaveAsync(CallRecord before, CallRecord call) => Enqueue(call, before);

    private Task<bool> Enqueue(CallRecord call, CallRecord? before)
    {
        var pending = new Pending(call, before, Activity.Current?.Context ?? default);
        var lane = (int)((uint)HashCode.Combine(call.TenantId, LocationOf(call)) % Lanes);
        _lanes[lane].Add(pending);
        return pending.Done.Task;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(_lanes.Select(lane => Task.Run(async () =>
    {
        var batch = new List<Pending>(MaxBatch);
        while (true)
        {
            await lane.NextAsync(batch);
            await WriteAsync(batch);
            batch.Clear();
        }
    }, CancellationToken.None)));

    /// <summary>
    /// Keeps writing while the rest of the silo stops: the call journal's deliveries still under way at a SIGTERM, and the
    /// grains' last changes, are written until the process ends. What is not written by then was not acknowledged, and
    /// the journal replays it at the next start.
    /// </summary>
    public override Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>One transaction for the batch; when PostgreSQL refuses it, each change alone, so one bad change fails only itself.</summary>
    private async Task WriteAsync(List<Pending> batch)
    {
        using var span = Tracing.StartBehind("callmesh.calls.write", batch[0].Cause,
            batch.Skip(1).Where(p => p.Cause != default).Take(16).Select(p => new ActivityLink(p.Cause)));
        span?.SetTag("callmesh.changes", batch.Count);
        try
        {
            await WriteTogetherAsync(batch);
            return;
        }
        // PostgreSQL refused a statement (not a lost connection, a deadlock or an outage: those fail the batch, and the
        // journal delivers each change again): find the one it refused.
        catch (PostgresException e) when (batch.Count > 1 && !e.IsTransient)
        {
            _logger.LogWarning("Writing {Count} call changes together failed ({Error}); writing each alone", batch.Count, e.MessageText);
        }
        catch (Exception e)
        {
            foreach (var pending in batch) pending.Done.TrySetException(e);
            return;
        }
        foreach (var pending in batch)
        {
            try
            {
                await WriteTogetherAsync([pending]);
            }
            catch (Exception e)
            {
                pending.Done.TrySetException(e);
            }
        }
    }

    private async Task WriteTogetherAsync(IReadOnlyList<Pending> batch)
    {
        foreach (var pending in batch) (pending.Result, pending.Failure) = (null, null);
        Interlocked.Increment(ref _transactions);
        // Every writer takes rows in the same order (locations, then each call's row by id): two batches queue, never deadlock.
        var locations = batch.Select(p => (p.Call.TenantId, Location: LocationOf(p.Call))).Distinct()
            .OrderBy(l => l.TenantId, StringComparer.Ordinal).ThenBy(l => l.Location, StringComparer.Ordinal).ToList();
        var inserts = batch.Where(p => p.Before is null).ToList();
        var saves = batch.Where(p => p.Before is not null).OrderBy(p => p.Call.CallId, StringComparer.Ordinal).ToList();

        // BEGIN goes with the first batch and COMMIT with the last, so a transaction is two round trips, not three. (Npgsql
        // rolls back a transaction left open, by a refused statement, when the connection goes back to its pool.)
        await using var connection = await _database.OpenConnectionAsync();

        // 1. The locations' shared locks (a rollup rebuild takes one exclusively), which of the batch's tenants have
        //    destinations, the saved calls' rows (each changed only if it is still the revision its grain changed), and the
        //    new calls' rows (each written only if its key is new).
        var withDestinations = new HashSet<string>(StringComparer.Ordinal);
        await using (var first = new NpgsqlBatch(connection))
        {
            first.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            foreach (var (tenantId, location) in locations) first.BatchCommands.Add(RollupStore.LocationLock(tenantId, location, exclusive: false));
            first.BatchCommands.Add(Outbound.OutboxStore.TenantsWithDestinations(locations.Select(l => l.TenantId).Distinct().ToArray()));
            var rowCommands = new List<(Pending Pending, NpgsqlBatchCommand Command)>(batch.Count);
            foreach (var save in saves)
            {
                try
                {
                    rowCommands.Add((save, CallStore.UpdateCommand(save.Before!, save.Call)));
                }
                catch (InvalidOperationException e)
                {
                    save.Failure = e;
                }
            }
            rowCommands.AddRange(inserts.Select(insert => (insert, CallStore.InsertIfNewCommand(insert.Call))));
            foreach (var (_, command) in rowCommands) first.BatchCommands.Add(command);
            await using (var reader = await first.ExecuteReaderAsync())
            {
                // Past the locks, to the destinations (BEGIN returns no rows: the reader has passed it already).
                for (var i = 0; i < locations.Count; i++) await reader.NextResultAsync();
                while (await reader.ReadAsync()) withDestinations.Add(reader.GetString(0));
            }
            // Refused: a retried start whose call already has a row, or a change to a revision someone else replaced.
            foreach (var (pending, command) in rowCommands)
                if (command.RecordsAffected == 0) pending.Result = false;
        }

        // 2. Every written call's events, and the rollup change of the whole batch per location.
        var now = _clock.GetUtcNow().UtcDateTime;
        var changes = new Dictionary<(string TenantId, string Location), RollupBuckets>();
        await using (var then = new NpgsqlBatch(connection))
        {
            foreach (var written in batch.Where(p => p.Result is null && p.Failure is null))
            {
                if (withDestinations.Contains(written.Call.TenantId))
                    foreach (var command in Outbound.OutboxStore.Enqueue(written.Before, written.Call, now)) then.BatchCommands.Add(command);
                var change = Change(changes, written.Call);
                if (written.Before is { } before) change.Add(Contributions.From(before), -1);
                change.Add(Contributions.From(written.Call), +1);
            }
            foreach (var ((tenantId, location), change) in changes.OrderBy(c => c.Key.TenantId, StringComparer.Ordinal)
                         .ThenBy(c => c.Key.Location, StringComparer.Ordinal))
                foreach (var command in RollupStore.Apply(tenantId, location, change))
                    then.BatchCommands.Add(command);
            then.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            await then.ExecuteNonQueryAsync();
        }

        foreach (var pending in batch)
        {
            if (pending.Failure is { } failure) pending.Done.TrySetException(failure);
            else pending.Done.TrySetResult(pending.Result ?? true);
        }
    }

    private static string LocationOf(CallRecord call) => call.Attribution.LocationId ?? RollupStore.Unassigned;

    private static RollupBuckets Change(Dictionary<(string, string), RollupBuckets> changes, CallRecord call)
    {
        var key = (call.TenantId, LocationOf(call));
        if (!changes.TryGetValue(key, out var change)) changes[key] = change = new RollupBuckets();
        return change;
    }

    /// <summary>
    /// One call's change waiting for its transaction (<c>Before</c>: the revision it changes; null for a new call). Result:
    /// false when it was refused (already there, or changed meanwhile).
    /// </summary>
    private sealed class Pending(CallRecord call, CallRecord? before, ActivityContext cause)
    {
        public CallRecord Call { get; } = call;
        public CallRecord? Before { get; } = before;
        public ActivityContext Cause { get; } = cause;
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool? Result { get; set; }
        public Exception? Failure { get; set; }
    }
}
