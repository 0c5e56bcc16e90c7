using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Silo.Hosting;
using Microsoft.Win32.SafeHandles;

namespace CallMesh.Silo.Calls;

/// <summary>Where this silo keeps its call journal and routing snapshot: a directory of its own (a persistent volume on Kubernetes).</summary>
public sealed record CallJournalOptions(string Directory, long SegmentBytes = 8 * 1024 * 1024);

/// <summary>
/// A carrier delivery as journaled: a call's start (with the routing the caller was answered with) or one of its
/// events (status callbacks, the dial result). <c>Id</c> orders a silo's entries.
/// </summary>
public sealed record CallJournalEntry(long Id, string TenantId, string CallId, DateTime At, InboundCall? Start, CallRouting? Routing, CallEvent? Event)
{
    /// <summary>The request that journaled it (in memory only), so the write behind the answer shows in that trace.</summary>
    [JsonIgnore] public ActivityContext Cause { get; init; }
}

/// <summary>
/// Nothing a carrier was told is lost: a delivery is appended to this silo's journal and made durable (fsync, one for
/// every delivery that arrived meanwhile) before the carrier is answered, and handed to the call's grain behind the
/// answer, which writes it to PostgreSQL idempotently (by call id, and by each event's key). Until the grain confirms,
/// the entry stays pending: retried with backoff through database outages and silo losses, and replayed in order from
/// the files when the silo starts again.
/// Files: calls-NNNNNNNNNN.jsonl segments of JSON lines, an entry or a {"done": id} marker each; a torn last line (a
/// kill mid-write) was never acknowledged and is skipped. A segment is deleted once it and every older one are done.
/// </summary>
public sealed class CallJournal(CallJournalOptions options, GrainReferences references, TimeProvider clock, ILogger<CallJournal> logger,
    CallMeshMetrics metrics) : BackgroundService
{
    private long SegmentBytes => options.SegmentBytes;
    /// <summary>An event for a call no silo has started yet waits this long for the start (it may sit in another silo's journal).</summary>
    public static readonly TimeSpan UnknownCallPatience = TimeSpan.FromMinutes(10);
    /// <summary>
    /// A call whose caller's leg ended waits this long for the dial's outcome (a dial result, the forwarded leg's end) before
    /// it is settled without it: the carrier sends those before the caller's end, but another silo may deliver them later.
    /// </summary>
    public static readonly TimeSpan DialPatience = TimeSpan.FromSeconds(10);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Channel<(CallJournalEntry Entry, TaskCompletionSource Durable)> _appends =
        Channel.CreateUnbounded<(CallJournalEntry, TaskCompletionSource)>(new() { SingleReader = true });
    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, int> _pendingPerSegment = [];   // segment → entries not yet done
    private readonly Dictionary<long, long> _segmentOf = [];                 // entry id → its segment
    private readonly List<long> _doneToWrite = [];
    private readonly SemaphoreSlim _deliveries = new(64);
    private readonly Dictionary<string, Task> _callTails = new(StringComparer.Ordinal);   // call → its last delivery
    private int _awaitingDial;              // entries applied whose call waits for its dial's outcome
    private SafeFileHandle? _file;
    private long _offset;                   // where the next line goes in the current segment
    private Task<SafeFileHandle>? _next;    // the following segment, zero-filled ahead of need
    private long _segment;
    private long _nextId;
    private CancellationToken _stopping;

    /// <summary>Entries not yet confirmed by their grain (for readiness and tests).</summary>
    public int Pending { get { lock (_lock) return _segmentOf.Count; } }

    private string SegmentPath(long segment) => Path.Combine(options.Directory, $"calls-{segment:D10}.jsonl");

    /// <summary>Journals a call's start; returns once it is durable. Its grain learns of it behind the answer.</summary>
    public Task AppendStartAsync(string tenantId, string callId, InboundCall start, CallRouting routing) =>
        AppendAsync(tenantId, callId, start, routing, null);

    public Task AppendEventAsync(string tenantId, string callId, CallEvent delivery) =>
        AppendAsync(tenantId, callId, null, null, delivery);

    private Task AppendAsync(string tenantId, string callId, InboundCall? start, CallRouting? routing, CallEvent? delivery)
    {
        var entry = new CallJournalEntry(Interlocked.Increment(ref _nextId), tenantId, callId, clock.GetUtcNow().UtcDateTime, start, routing, delivery)
        {
            Cause = Activity.Current?.Context ?? default,
        };
        var durable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_appends.Writer.TryWrite((entry, durable)))
            durable.SetException(new InvalidOperationException("The call journal is stopped."));
        return durable.Task;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.Directory);
        var pending = Replay();
        _segment = Directory.GetFiles(options.Directory, "calls-*.jsonl").Select(SegmentNumber).DefaultIfEmpty(0).Max() + 1;
        _file = PrepareSegment(_segment);
        _next = Task.Run(() => PrepareSegment(_segment + 1));
        if (pending.Count > 0) logger.LogInformation("Call journal: {Count} deliveries to replay", pending.Count);
        metrics.Gauge("callmesh.call.journal.depth", "{delivery}", "Carrier deliveries journaled and not yet confirmed by their call's grain.",
            () => Pending);
        var started = base.StartAsync(cancellationToken);
        foreach (var entry in pending) Deliver(entry);
        return started;
    }

    /// <summary>Reads every segment: the entries without a done marker, oldest first.</summary>
    private List<CallJournalEntry> Replay()
    {
        var entries = new SortedDictionary<long, (CallJournalEntry Entry, long Segment)>();
        var done = new HashSet<long>();
        foreach (var path in Directory.GetFiles(options.Directory, "calls-*.jsonl").OrderBy(SegmentNumber))
        {
            var segment = SegmentNumber(path);
            _pendingPerSegment[segment] = 0;
            foreach (var line in File.ReadLines(path))
            {
                if (line.Length == 0 || line[0] == '\0') break;   // the zero-filled rest of the segment: nothing written there
                JournalLine? parsed;
                try { parsed = JsonSerializer.Deserialize<JournalLine>(line, Json); }
                catch (JsonException) { continue; }   // torn by a kill mid-write: never acknowledged
                if (parsed?.Done is { } id) done.Add(id);
                else if (parsed?.Entry is { } entry) entries[entry.Id] = (entry, segment);
            }
        }
        _nextId = entries.Keys.Concat(done).DefaultIfEmpty(0).Max();
        var pending = entries.Values.Where(e => !done.Contains(e.Entry.Id)).ToList();
        foreach (var (entry, segment) in pending)
        {
            _segmentOf[entry.Id] = segment;
            _pendingPerSegment[segment]++;
        }
        DeleteFinishedSegments();
        return [.. pending.Select(p => p.Entry)];
    }

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        _stopping = stopping;
        var batch = new List<(CallJournalEntry Entry, TaskCompletionSource Durable)>();
        // Appends are written in the order they came; done markers ride along, or are flushed on their own each second.
        // One tick a second, kept across turns: a new delay each turn left a timer per append to fire a second later,
        // hundreds a second under load, each waking the timer thread.
        Task<bool>? waiting = null;
        Task? tick = null;
        while (true)
        {
            waiting ??= _appends.Reader.WaitToReadAsync().AsTask();
            tick ??= Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            if (await Task.WhenAny(waiting, tick) == waiting)
            {
                if (!await waiting) break;   // completed by StopAsync
                waiting = null;
            }
            else tick = null;
            while (_appends.Reader.TryRead(out var append)) batch.Add(append);
            try
            {
                Write(batch.Select(b => b.Entry));
                foreach (var (_, durable) in batch) durable.TrySetResult();
            }
            catch (Exception e)
            {
                logger.LogError(e, "Call journal: could not write {Count} deliveries", batch.Count);
                foreach (var (_, durable) in batch) durable.TrySetException(e);
                batch.Clear();
                continue;
            }
            foreach (var (entry, _) in batch) Deliver(entry);
            batch.Clear();
        }
    }

    private void Write(IEnumerable<CallJournalEntry> entries)
    {
        long[] done;
        lock (_lock)
        {
            done = [.. _doneToWrite];
            _doneToWrite.Clear();
        }
        var lines = new List<(byte[] Line, CallJournalEntry? Entry)>();
        foreach (var entry in entries) lines.Add((Line(new JournalLine(null, entry)), entry));
        foreach (var id in done) lines.Add((Line(new JournalLine(id, null)), null));
        if (lines.Count == 0) return;

        var batch = new MemoryStream();
        foreach (var (line, entry) in lines)
        {
            if (_offset + batch.Length + line.Length > SegmentBytes)
            {
                Flush(batch, durable: true);
                NextSegment();
            }
            if (entry is not null)
                lock (_lock)
                {
                    _segmentOf[entry.Id] = _segment;
                    _pendingPerSegment[_segment] = _pendingPerSegment.GetValueOrDefault(_segment) + 1;
                }
            batch.Write(line);
        }
        // Only a new delivery waits for the disk; a lost done marker only replays a delivery its grain ignores.
        Flush(batch, durable: lines.Any(l => l.Entry is not null));
        // Entries finish after their segment was left too (a call waiting for its dial): its file goes then, not at the next roll.
        if (done.Length > 0) lock (_lock) DeleteFinishedSegments();
    }

    private static byte[] Line(JournalLine line) => [.. JsonSerializer.SerializeToUtf8Bytes(line, Json), (byte)'\n'];

    /// <summary>
    /// Writes in place into the segment's zeros and flushes the data alone (fdatasync): the file's size and blocks never
    /// change, so no file-system metadata has to reach the disk with it.
    /// </summary>
    private void Flush(MemoryStream batch, bool durable)
    {
        if (batch.Length == 0) return;
        RandomAccess.Write(_file!, batch.GetBuffer().AsSpan(0, (int)batch.Length), _offset);
        _offset += batch.Length;
        batch.SetLength(0);
        if (durable && fdatasync(_file!) != 0)
            throw new IOException($"fdatasync of the call journal failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private void NextSegment()
    {
        _file!.Dispose();
        _file = _next!.GetAwaiter().GetResult();
        _segment++;
        _offset = 0;
        _next = Task.Run(() => PrepareSegment(_segment + 1));
        lock (_lock) DeleteFinishedSegments();
    }

    /// <summary>A new segment of <see cref="SegmentBytes"/> zeros, written and flushed before any line goes in.</summary>
    private SafeFileHandle PrepareSegment(long segment)
    {
        lock (_lock) _pendingPerSegment.TryAdd(segment, 0);
        var path = SegmentPath(segment);
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var zeros = new byte[Math.Min(1024 * 1024, SegmentBytes)];
        for (long at = 0; at < SegmentBytes; at += zeros.Length) RandomAccess.Write(handle, zeros, at);
        RandomAccess.FlushToDisk(handle);
        return handle;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(SafeFileHandle fd);

    /// <summary>
    /// Hands an entry to its call's grain once the call's earlier entries are delivered (a callback right behind its
    /// start would otherwise find no call yet, and wait for a retry).
    /// </summary>
    private void Deliver(CallJournalEntry entry)
    {
        var call = TenantKey.For(entry.TenantId, entry.CallId);
        Task tail;
        lock (_lock)
        {
            tail = After(_callTails.GetValueOrDefault(call, Task.CompletedTask), entry);
            _callTails[call] = tail;
        }
        // Run where the delivery finished: a queued continuation per delivery woke a pool thread for a dictionary removal.
        _ = tail.ContinueWith(done =>
        {
            lock (_lock)
                if (_callTails.TryGetValue(call, out var current) && current == done) _callTails.Remove(call);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task After(Task previous, CallJournalEntry entry)
    {
        await previous;
        await DeliverAsync(entry);
    }

    /// <summary>
    /// Delivers an entry to its call's grain until the grain confirms it; then marks it done. An entry that left its call
    /// waiting for the dial's outcome stays pending (durable) until the call is settled, without holding back the call's
    /// later deliveries, one of which may be that outcome.
    /// </summary>
    private async Task DeliverAsync(CallJournalEntry entry, bool settle = false)
    {
        await Task.Yield();
        if (settle) await Task.Delay(DialPatience, clock);
        Applied applied;
        await _deliveries.WaitAsync();
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                if (await TryDeliver(entry, attempt, settle) is { } result)
                {
                    applied = result;
                    break;
                }
                // Quick at first (a start racing its own events), then patient (a database outage).
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(200 * Math.Pow(2, attempt), 10_000)), clock);
            }
        }
        finally
        {
            _deliveries.Release();
        }
        if (settle) Interlocked.Decrement(ref _awaitingDial);
        if (applied != Applied.AwaitingDial || settle)
        {
            MarkDone(entry.Id);
            return;
        }
        Interlocked.Increment(ref _awaitingDial);
        _ = DeliverAsync(entry, settle: true);
    }

    /// <summary>What the grain made of it (<see cref="Applied.Done"/> also when it can never be delivered); null to try again later.</summary>
    private async Task<Applied?> TryDeliver(CallJournalEntry entry, int attempt, bool settle)
    {
        using var span = Tracing.StartBehind(settle ? "callmesh.call.settle" : entry.Start is null ? "callmesh.call.apply" : "callmesh.call.record",
            entry.Cause);
        span?.SetTag("callmesh.attempt", attempt);
        var call = references.New<ICallGrain>(TenantKey.For(entry.TenantId, entry.CallId));
        try
        {
            if (entry.Start is { } start)
            {
                await call.Start(start, entry.Routing);
                return Applied.Done;
            }
            var applied = settle ? await call.Settle() ? Applied.Done : Applied.UnknownCall : await call.Apply(entry.Event!);
            if (applied != Applied.UnknownCall) return applied;
            if (clock.GetUtcNow().UtcDateTime - entry.At < UnknownCallPatience) return null;
            logger.LogWarning("Call journal: {Event} for unknown call {CallId} dropped after {Patience}", entry.Event!.Key, entry.CallId, UnknownCallPatience);
            return Applied.Done;
        }
        catch (Exception e) when (TransientFaults.IsDatabaseUnavailable(e) || TransientFaults.IsClusterChange(e) || _stopping.IsCancellationRequested
                                  || e is Orleans.Runtime.OrleansException)
        {
            if (attempt % 10 == 0) logger.LogWarning("Call journal: {CallId} waits ({Reason})", entry.CallId, e.Message);
            return null;
        }
        catch (Exception e) when (attempt < 20)
        {
            logger.LogWarning("Call journal: {CallId} failed ({Reason}); will retry", entry.CallId, e.Message);
            return null;
        }
        catch (Exception e)
        {
            logger.LogError(e, "Call journal: {CallId} given up after {Attempts} attempts: {Entry}", entry.CallId, attempt + 1, JsonSerializer.Serialize(entry, Json));
            return Applied.Done;
        }
    }

    private void MarkDone(long id)
    {
        lock (_lock)
        {
            _doneToWrite.Add(id);
            if (_segmentOf.Remove(id, out var segment)) _pendingPerSegment[segment]--;
        }
    }

    /// <summary>Deletes the oldest segments while they are done; never the one being written. Call under the lock.</summary>
    private void DeleteFinishedSegments()
    {
        while (_pendingPerSegment.Count > 0 && _pendingPerSegment.First() is { Value: 0 } finished && finished.Key != _segment)
        {
            File.Delete(SegmentPath(finished.Key));
            _pendingPerSegment.Remove(finished.Key);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _appends.Writer.TryComplete();
        // Give deliveries under way a moment; whatever is left (with calls waiting for their dial) is replayed at the next start.
        var deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(5);
        while (Pending > Volatile.Read(ref _awaitingDial) && clock.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
            await Task.Delay(50, CancellationToken.None);
        await base.StopAsync(cancellationToken);
        Write([]);
        _file?.Dispose();
        if (_next is not null) (await _next).Dispose();
    }

    private static long SegmentNumber(string path) => long.Parse(Path.GetFileNameWithoutExtension(path)["calls-".Length..]);

    private sealed record JournalLine(long? Done, CallJournalEntry? Entry);
}
