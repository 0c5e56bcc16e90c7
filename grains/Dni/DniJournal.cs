using System.Diagnostics;
using System.Threading.Channels;
using CallMesh.Common;
using CallMesh.Visitors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using static NpgsqlTypes.NpgsqlDbType;

namespace CallMesh.Dni;

/// <summary>
/// A new hold of a pool number (<see cref="LeaseKind.Lease"/>) or an answer with the overflow number. <c>EarlyReuse</c>:
/// the number was lent before it had rested.
/// </summary>
public sealed record LeaseRow(string TenantId, string PoolId, string Number, LeaseKind Kind, Guid VisitorId, Guid SessionId, string? LocationId,
    DateTime LeasedAt, bool EarlyReuse = false);

/// <summary>What a row of callmesh.number_leases records (its <c>kind</c> column holds the lower-case name).</summary>
public enum LeaseKind
{
    /// <summary>A pool number held by one visitor: the live-hold index allows one open lease per number.</summary>
    Lease,
    /// <summary>The pool's overflow number, given when every number was held: shared, so never a hold.</summary>
    Overflow,
}

/// <summary>The end of a hold, with the holder's last sign of life (null: not known since the pool's restart).</summary>
public sealed record ReleaseRow(string TenantId, string Number, Guid VisitorId, DateTime ReleasedAt, DateTime? LastSeenAt);

public sealed record SessionRow(Guid SessionId, string TenantId, Guid VisitorId, string SiteKey, DateTime StartedAt, string LandingUrl, string? Referrer, bool IsTest);

public sealed record TouchRow(string TenantId, Guid VisitorId, Touchpoint Touch);

/// <summary>What one caller asked to be written together.</summary>
public sealed record JournalEntry(
    IReadOnlyList<SessionRow> Sessions,
    IReadOnlyList<TouchRow> Touches,
    IReadOnlyList<LeaseRow> Leases,
    IReadOnlyList<ReleaseRow> Releases);

/// <summary>
/// The DNI journal: sessions, touches, leases and releases written to the DNI tables. Writes are batched: every caller's entry waits until the transaction that
/// holds it commits, so nothing is acknowledged before it is durable, while one round trip
/// serves many sessions. A lease that the database refuses (another live hold of the same
/// number, see the live-hold index in 0010_live_hold_index.sql) comes back in the result so the caller can re-lease.
/// </summary>
public sealed class DniJournal : BackgroundService
{
    private readonly NpgsqlDataSource _database;
    private readonly ILogger<DniJournal> _logger;

    public DniJournal(NpgsqlDataSource database, ILogger<DniJournal> logger, CallMeshMetrics metrics)
    {
        (_database, _logger) = (database, logger);
        metrics.Gauge("callmesh.dni.journal.depth", "{entry}", "DNI journal entries waiting for their transaction.", () => _queue.Reader.Count);
    }

    private const int MaxBatch = 512;
    // One transaction in flight gathers every entry that arrives while it waits for its WAL flush. A second one joins
    // only when the first has been out longer than this (a slow flush, a lock), so the entries behind it are
    // inserted meanwhile and commit right after it. A second transaction always in flight halved the entries per
    // commit at ordinary rates, and PostgreSQL's cost per commit is most of its cost there (docs/perf/dni.md).
    // A pool journals a release before it leases the number again, so the two never hold the same number.
    private static readonly TimeSpan StalledAfter = TimeSpan.FromMilliseconds(5);

    private static readonly IReadOnlySet<string> NoneRefused = System.Collections.Frozen.FrozenSet<string>.Empty;

    private readonly Channel<(JournalEntry Entry, TaskCompletionSource<IReadOnlySet<string>> Done, ActivityContext Cause)> _queue =
        Channel.CreateUnbounded<(JournalEntry, TaskCompletionSource<IReadOnlySet<string>>, ActivityContext)>();

    // When the lead's batch in flight was sent (Stopwatch ticks), or 0 when it has none.
    private long _leadSentAt;

    // The helper ticks only while DNI traffic flows: its 5 ms timer, always on, woke the silo 400 times a second for
    // nothing when no DNI request came (the timer thread, then a pool thread), costly on a busy machine. After a second
    // without a batch in flight at its ticks it sets this and waits for the lead's next batch.
    private int _helperIdle;
    private readonly SemaphoreSlim _leadStarted = new(0);
    private static readonly int IdleTicks = (int)(TimeSpan.FromSeconds(1) / StalledAfter);

    /// <summary>Durably writes the entry; returns the numbers of its hold rows that were refused.</summary>
    public Task<IReadOnlySet<string>> WriteAsync(JournalEntry entry)
    {
        var done = new TaskCompletionSource<IReadOnlySet<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((entry, done, Activity.Current?.Context ?? default))) done.SetException(new InvalidOperationException("The DNI journal is shut down."));
        return done.Task;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Task.Run(LeadAsync, CancellationToken.None), Task.Run(HelpAsync, CancellationToken.None));

    private async Task LeadAsync()
    {
        var lane = new Lane(_database, _logger);
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            Interlocked.Exchange(ref _leadSentAt, System.Diagnostics.Stopwatch.GetTimestamp());
            if (Interlocked.Exchange(ref _helperIdle, 0) == 1) _leadStarted.Release();
            await lane.WriteQueuedAsync(_queue.Reader);
            Volatile.Write(ref _leadSentAt, 0);
        }
        await lane.DisposeAsync();
        _leadStarted.Release();   // the helper may be waiting: let it see the queue completed
    }

    /// <summary>Looks every few milliseconds whether the lead is stalled with entries waiting, and writes those.</summary>
    private async Task HelpAsync()
    {
        var lane = new Lane(_database, _logger);
        while (!_queue.Reader.Completion.IsCompleted)
        {
            // Both sides write before they read the other's flag (full fences), so a batch started meanwhile is never missed.
            Interlocked.Exchange(ref _helperIdle, 1);
            if (Volatile.Read(ref _leadSentAt) == 0) await _leadStarted.WaitAsync();
            Interlocked.Exchange(ref _helperIdle, 0);
            using var timer = new PeriodicTimer(StalledAfter);
            for (var idle = 0; idle < IdleTicks && !_queue.Reader.Completion.IsCompleted && await timer.WaitForNextTickAsync();)
            {
                idle = Volatile.Read(ref _leadSentAt) == 0 ? idle + 1 : 0;
                while (Volatile.Read(ref _leadSentAt) is var sentAt and > 0
                       && System.Diagnostics.Stopwatch.GetElapsedTime(sentAt) >= StalledAfter && _queue.Reader.Count > 0)
                    await lane.WriteQueuedAsync(_queue.Reader);
            }
        }
        await lane.DisposeAsync();
    }

    /// <summary>One transaction at a time on one connection, taken again after a failure.</summary>
    private sealed class Lane(NpgsqlDataSource database, ILogger logger) : IAsyncDisposable
    {
        private readonly List<(JournalEntry Entry, TaskCompletionSource<IReadOnlySet<string>> Done, ActivityContext Cause)> _batch = new(MaxBatch);
        private JournalWriter? _writer;

        /// <summary>Writes what is queued (up to a batch) as one transaction and tells each caller.</summary>
        public async Task WriteQueuedAsync(ChannelReader<(JournalEntry Entry, TaskCompletionSource<IReadOnlySet<string>> Done, ActivityContext Cause)> queue)
        {
            while (_batch.Count < MaxBatch && queue.TryRead(out var item)) _batch.Add(item);
            if (_batch.Count == 0) return;
            // In the trace of the first request waiting for this commit; the others are linked (a few: links are kept in memory).
            using var span = Tracing.StartBehind("callmesh.dni.journal.write", _batch[0].Cause,
                _batch.Skip(1).Where(b => b.Cause != default).Take(16).Select(b => new ActivityLink(b.Cause)));
            span?.SetTag("callmesh.entries", _batch.Count);
            try
            {
                _writer ??= await JournalWriter.OpenAsync(database);
                var refused = await _writer.WriteAsync(_batch.Select(b => b.Entry).ToList());
                // Refusals are rare: the common answer shares one empty set instead of a set per entry.
                foreach (var (entry, done, _) in _batch)
                    done.SetResult(refused.Count == 0 ? NoneRefused
                        : entry.Leases.Where(l => l.Kind == LeaseKind.Lease && refused.Contains((l.Number, l.VisitorId))).Select(l => l.Number).ToHashSet());
            }
            catch (Exception e)
            {
                logger.LogError(e, "Writing {Count} DNI journal entries failed", _batch.Count);
                foreach (var (_, done, _) in _batch) done.SetException(e);
                // The connection may be broken; the next batch starts on a new one.
                await DisposeAsync();
            }
            _batch.Clear();
        }

        public async ValueTask DisposeAsync()
        {
            if (_writer is not null) await _writer.DisposeAsync();
            _writer = null;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();   // drain what was accepted, then stop
        await base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// One writer's connection and its four statements, prepared once and run again for every batch with new arrays:
    /// a batch then allocates no commands or parameters, and PostgreSQL neither parses nor plans it again. A batch
    /// sends only the statements that have rows.
    /// </summary>
    private sealed class JournalWriter : IAsyncDisposable
    {
        private readonly NpgsqlConnection _connection;
        private readonly NpgsqlBatch _batch;
        private readonly NpgsqlBatchCommand _releases, _sessions, _touches, _leases;

        private JournalWriter(NpgsqlConnection connection)
        {
            _connection = connection;
            _batch = new NpgsqlBatch(connection);
            _releases = Statement(
                """
                UPDATE callmesh.number_leases l SET released_at = r.released_at, last_seen_at = r.last_seen_at
                  FROM unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[])
                       AS r(tenant_id, number, visitor_id, released_at, last_seen_at)
                 WHERE l.number = r.number AND l.tenant_id = r.tenant_id AND l.visitor_id = r.visitor_id
                   AND l.kind = 'lease' AND l.released_at IS NULL
                """, Text, Text, Uuid, TimestampTz, TimestampTz);
            _sessions = Statement(
                """
                INSERT INTO callmesh.dni_sessions (session_id, tenant_id, visitor_id, site_key, started_at, landing_url, referrer, is_test)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::boolean[])
                ON CONFLICT (session_id) DO NOTHING
                """, Uuid, Text, Uuid, Text, TimestampTz, Text, Text, NpgsqlDbType.Boolean);
            _touches = Statement(
                """
                INSERT INTO callmesh.touchpoints (tenant_id, visitor_id, session_id, at, source, medium, campaign, keyword,
                                                  gclid, gbraid, wbraid, msclkid, fbclid, landing_page, referrer, decided_by)
                SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[],
                                     $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
                """, Text, Uuid, Uuid, TimestampTz, Text, Text, Text, Text, Text, Text, Text, Text, Text, Text, Text, Text);
            _leases = Statement(
                """
                INSERT INTO callmesh.number_leases (tenant_id, pool_id, number, kind, visitor_id, session_id, location_id, leased_at,
                                                    early_reuse, released_at)
                SELECT t.*, CASE WHEN t.kind = 'overflow' THEN t.leased_at END
                  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::text[], $8::timestamptz[], $9::boolean[])
                       AS t(tenant_id, pool_id, number, kind, visitor_id, session_id, location_id, leased_at, early_reuse)
                ON CONFLICT DO NOTHING
                RETURNING number, visitor_id
                """, Text, Text, Text, Text, Uuid, Uuid, Text, TimestampTz, NpgsqlDbType.Boolean);
        }

        /// <summary>A statement whose parameters are arrays of these element types (declared, so nothing is inferred per batch).</summary>
        private static NpgsqlBatchCommand Statement(string sql, params NpgsqlDbType[] elementTypes)
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var type in elementTypes) command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | type });
            return command;
        }

        /// <summary>A writer on a new connection; each statement is prepared there by the first batch that sends it.</summary>
        public static async Task<JournalWriter> OpenAsync(NpgsqlDataSource database) =>
            new(await database.OpenConnectionAsync());

        /// <summary>Writes the entries as one implicit transaction; returns the hold rows the live-hold index refused.</summary>
        public async Task<HashSet<(string, Guid)>> WriteAsync(List<JournalEntry> entries)
        {
            var releases = entries.SelectMany(e => e.Releases).ToList();
            var sessions = entries.SelectMany(e => e.Sessions).ToList();
            var touches = entries.SelectMany(e => e.Touches).ToList();
            var leases = entries.SelectMany(e => e.Leases).ToList();
            _batch.BatchCommands.Clear();
            // Releases first: a number released and re-leased in one batch must not overlap itself.
            if (releases.Count > 0)
                Send(_releases,
                    releases.Select(r => r.TenantId).ToArray(), releases.Select(r => r.Number).ToArray(),
                    releases.Select(r => r.VisitorId).ToArray(), releases.Select(r => r.ReleasedAt).ToArray(),
                    releases.Select(r => r.LastSeenAt).ToArray());
            if (sessions.Count > 0)
                Send(_sessions,
                    sessions.Select(s => s.SessionId).ToArray(), sessions.Select(s => s.TenantId).ToArray(),
                    sessions.Select(s => s.VisitorId).ToArray(), sessions.Select(s => s.SiteKey).ToArray(),
                    sessions.Select(s => s.StartedAt).ToArray(), sessions.Select(s => s.LandingUrl).ToArray(),
                    sessions.Select(s => s.Referrer).ToArray(), sessions.Select(s => s.IsTest).ToArray());
            if (touches.Count > 0)
                Send(_touches,
                    touches.Select(t => t.TenantId).ToArray(), touches.Select(t => t.VisitorId).ToArray(),
                    touches.Select(t => t.Touch.SessionId).ToArray(), touches.Select(t => t.Touch.At).ToArray(),
                    touches.Select(t => t.Touch.Source).ToArray(), touches.Select(t => t.Touch.Medium).ToArray(),
                    touches.Select(t => t.Touch.Campaign).ToArray(), touches.Select(t => t.Touch.Keyword).ToArray(),
                    touches.Select(t => t.Touch.ClickIds.Gclid).ToArray(), touches.Select(t => t.Touch.ClickIds.Gbraid).ToArray(),
                    touches.Select(t => t.Touch.ClickIds.Wbraid).ToArray(), touches.Select(t => t.Touch.ClickIds.Msclkid).ToArray(),
                    touches.Select(t => t.Touch.ClickIds.Fbclid).ToArray(), touches.Select(t => t.Touch.LandingPage).ToArray(),
                    touches.Select(t => t.Touch.Referrer).ToArray(), touches.Select(t => t.Touch.DecidedBy).ToArray());
            if (leases.Count > 0)
                Send(_leases,
                    leases.Select(l => l.TenantId).ToArray(), leases.Select(l => l.PoolId).ToArray(),
                    leases.Select(l => l.Number).ToArray(), leases.Select(l => ColumnValue(l.Kind)).ToArray(),
                    leases.Select(l => l.VisitorId).ToArray(), leases.Select(l => l.SessionId).ToArray(),
                    leases.Select(l => l.LocationId).ToArray(), leases.Select(l => l.LeasedAt).ToArray(),
                    leases.Select(l => l.EarlyReuse).ToArray());

            var refused = leases.Where(l => l.Kind == LeaseKind.Lease).Select(l => (l.Number, l.VisitorId)).ToHashSet();
            if (_batch.BatchCommands.Count == 0) return refused;
            // Prepares what this connection has not seen yet (one round trip, once); the rest it finds there, with none.
            await _batch.PrepareAsync();
            // No explicit transaction: PostgreSQL runs a batch's statements as one implicit transaction (an error in any
            // rolls back all) and commits it, WAL flushed, before its ReadyForQuery, which ends the reader below. That is
            // one round trip per batch instead of a second one for COMMIT.
            await using var reader = await _batch.ExecuteReaderAsync();
            // Only the lease insert returns rows; earlier commands' (empty) result sets come first.
            do
            {
                while (await reader.ReadAsync())
                    refused.Remove((reader.GetString(0), reader.GetGuid(1)));
            } while (await reader.NextResultAsync());
            return refused;
        }

        /// <summary>The <c>kind</c> column's value (an unknown kind is written as its number, which the table's check refuses).</summary>
        private static string ColumnValue(LeaseKind kind) => kind switch
        {
            LeaseKind.Lease => "lease",
            LeaseKind.Overflow => "overflow",
            _ => ((int)kind).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        /// <summary>Binds the statement's arrays and adds it to this batch.</summary>
        private void Send(NpgsqlBatchCommand command, params object[] values)
        {
            for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
            _batch.BatchCommands.Add(command);
        }

        public async ValueTask DisposeAsync()
        {
            await _batch.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
