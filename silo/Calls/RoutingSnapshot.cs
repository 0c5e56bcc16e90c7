using System.Text.Json;
using CallMesh.Calls;
using CallMesh.Carriers;
using CallMesh.Common;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Tenants;
using Npgsql;

namespace CallMesh.Silo.Calls;

/// <summary>
/// Each silo's in-memory copy of the routing facts (<see cref="RoutingData"/>), so a call is answered without a database
/// round trip. Loaded at start, reloaded when PostgreSQL notifies a change (0011_routing_notify.sql) or, checked every
/// 30 s, its version moved (tracking numbers, the bulk of it, only those changed), and kept on disk beside the call
/// journal: a silo started while the database is down routes from its last copy.
/// </summary>
public sealed class RoutingSnapshot(NpgsqlDataSource database, NumberDirectory directory, CallJournalOptions options, SealedSecrets secrets,
    TimeProvider clock, CallMeshMetrics metrics, ILogger<RoutingSnapshot> logger) : BackgroundService
{
    private const string Channel = "callmesh_routing";
    private static readonly TimeSpan SafetyReload = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MinReloadInterval = TimeSpan.FromSeconds(1);
    private DateTimeOffset _lastReload;
    // Numbers are read whole at start and every WholeEvery; in between, those changed since the last read, less a margin
    // for a change whose transaction began before that read and committed after it (0032_routing_number_changes.sql).
    private static readonly TimeSpan WholeEvery = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ChangeMargin = TimeSpan.FromMinutes(1);
    private DateTimeOffset _wholeAt;
    private DateTime? _numbersReadAt;
    // The copy on disk is for a silo that starts while PostgreSQL is down: rewriting its megabytes once a second through
    // a brand's set-up cost more than the reloads; it lags the memory by this much at most.
    private static readonly TimeSpan FileEvery = TimeSpan.FromSeconds(10);
    private DateTimeOffset _fileWrittenAt = DateTimeOffset.MinValue;
    private int _fileScheduled;
    private readonly Lock _fileLock = new();
    // Grain state is stored as web-style JSON (silo/Database/JsonGrainStateSerializer.cs).
    private static readonly JsonSerializerOptions StateJson = new(JsonSerializerDefaults.Web);

    private volatile RoutingData? _current;

    /// <summary>The latest copy, or null before the first load (from the database or the disk).</summary>
    public RoutingData? Current => _current;

    private string FilePath => Path.Combine(options.Directory, "routing-snapshot.json");

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.Directory);
        try
        {
            await ReloadAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            _current = ReadFile();
            logger.LogWarning("Routing snapshot: the database is unreachable ({Reason}); routing from the copy on disk of {LoadedAt:O}",
                e.Message, _current?.LoadedAt);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.OpenConnectionAsync(stopping);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                    await listen.ExecuteNonQueryAsync(stopping);
                await ReloadAsync(stopping);   // after LISTEN: no change between the two is missed
                while (!stopping.IsCancellationRequested)
                {
                    if (await connection.WaitAsync(SafetyReload, stopping))
                    {
                        // A burst of changes (a brand's set-up, a bulk import) is one reload a second at most: each
                        // reads and builds every number anew, and its garbage is the silo's to collect.
                        await Task.Delay(MinReloadInterval - (clock.GetUtcNow() - _lastReload) is { Ticks: > 0 } rest ? rest : TimeSpan.FromMilliseconds(20), stopping);
                        // Each committed change sent its own notice, and a notice is sent at commit: the reload below reads
                        // every change whose notice has come, so those are taken now, not answered with one whole
                        // reload a second each for as long as a set-up's hundred notices last (docs/perf/inbound.md).
                        while (await connection.WaitAsync(TimeSpan.FromMilliseconds(1), stopping)) { }
                        await ReloadAsync(stopping);
                    }
                    else if (await VersionAsync(stopping) != _current?.Version)
                        await ReloadAsync(stopping);       // a notice missed while the connection was away
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
            {
                logger.LogWarning("Routing snapshot: {Reason}; routing from the copy of {LoadedAt:O} and retrying", e.Message, _current?.LoadedAt);
                await Task.Delay(TimeSpan.FromSeconds(1), stopping).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task<long> VersionAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT last_value FROM callmesh.routing_version");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Reads every routing fact and replaces the copy (and the file) whole.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        // Read first: a change committed during the reload leaves the version behind, and so reloads again.
        _lastReload = clock.GetUtcNow();
        var version = await VersionAsync(cancellationToken);
        var previous = _current;
        var whole = previous is null || _numbersReadAt is null || _lastReload - _wholeAt >= WholeEvery;
        var numbers = directory.ForRoutingAsync(whole ? null : _numbersReadAt - ChangeMargin, cancellationToken);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new("SELECT account_sid, tenant_id, carrier, auth_token FROM callmesh.carrier_accounts"));
        batch.BatchCommands.Add(new("SELECT tenant_id, caller FROM callmesh.blocked_callers"));
        batch.BatchCommands.Add(new(
            "SELECT state_name, grain_id_ext, payload FROM orleans.grain_state " +
            "WHERE state_name IN ('tenant', 'location') AND payload IS NOT NULL AND grain_id_ext IS NOT NULL"));
        var accounts = new Dictionary<string, CarrierAccount>(StringComparer.Ordinal);
        var blocked = new HashSet<string>(StringComparer.Ordinal);
        var tenants = new Dictionary<string, TenantConfig>(StringComparer.Ordinal);
        var locations = new Dictionary<string, LocationConfig>(StringComparer.Ordinal);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                // One token this silo cannot open (sealed with a key it has not loaded) leaves that account out, not everyone's.
                try
                {
                    accounts[reader.GetString(0)] = new CarrierAccount(reader.GetString(0), reader.GetString(1), reader.GetString(2), secrets.Open(reader.GetString(3)));
                }
                catch (System.Security.Cryptography.CryptographicException e)
                {
                    logger.LogWarning("Routing snapshot: carrier account {Account}'s token cannot be opened here ({Reason})", reader.GetString(0), e.Message);
                }
            }
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) blocked.Add($"{reader.GetString(0)}/{reader.GetString(1)}");
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var (kind, key, payload) = (reader.GetString(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2));
                if (kind == "tenant" && JsonSerializer.Deserialize<TenantGrain.State>(payload, StateJson)?.Config is { } tenant)
                    tenants[key] = tenant;
                else if (kind == "location" && JsonSerializer.Deserialize<LocationGrain.State>(payload, StateJson)?.Config is { } location)
                    locations[key] = location;
            }
        }
        var (read, readAt) = await numbers;
        // A new dictionary either way: the current copy is read by calls while this one is built.
        var routed = whole ? new Dictionary<string, RoutedNumber>(read.Count, StringComparer.Ordinal)
            : new Dictionary<string, RoutedNumber>(previous!.Numbers, StringComparer.Ordinal);
        foreach (var n in read) routed[n.Number] = new RoutedNumber(n.TenantId, n.Use, n.LocationId);
        var data = new RoutingData(accounts, routed, tenants, locations, blocked, clock.GetUtcNow().UtcDateTime, version);
        _current = data;
        (_numbersReadAt, _wholeAt) = (readAt, whole ? _lastReload : _wholeAt);
        var wholeTag = new KeyValuePair<string, object?>("whole", whole);
        metrics.RoutingReloads.Add(1, wholeTag);
        metrics.RoutingNumbersRead.Add(read.Count, wholeTag);
        ScheduleFile();
    }

    /// <summary>Writes the newest copy to disk now, or once <see cref="FileEvery"/> has passed since the last write.</summary>
    private void ScheduleFile()
    {
        if (Interlocked.Exchange(ref _fileScheduled, 1) == 1) return;   // the write already scheduled takes the newest copy
        var wait = FileEvery - (clock.GetUtcNow() - _fileWrittenAt);
        _ = Task.Run(async () =>
        {
            if (wait > TimeSpan.Zero) await Task.Delay(wait, clock);
            Volatile.Write(ref _fileScheduled, 0);
            _fileWrittenAt = clock.GetUtcNow();
            if (_current is { } newest) WriteFile(newest);
        });
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (Volatile.Read(ref _fileScheduled) == 1 && _current is { } newest) WriteFile(newest);
    }

    private void WriteFile(RoutingData data)
    {
        lock (_fileLock)
        {
            try
            {
                // It holds carrier auth tokens: readable by this user only; replaced whole, never half written.
                var temporary = FilePath + ".tmp";
                var mode = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) mode.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var file = new FileStream(temporary, mode))
                    JsonSerializer.Serialize(file, data);
                File.Move(temporary, FilePath, overwrite: true);
            }
            // Written on a background task: a failure of any kind is logged here or nowhere.
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogWarning("Routing snapshot: could not keep a copy on disk: {Reason}", e.Message);
            }
        }
    }

    private RoutingData? ReadFile()
    {
        try
        {
            using var file = File.OpenRead(FilePath);
            return JsonSerializer.Deserialize<RoutingData>(file);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }
}
