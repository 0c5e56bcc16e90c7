using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CallMesh.Jobs;

/// <summary>callmesh.jobs: what a job has done so far, so that whichever silo runs it next starts where it stopped.</summary>
public sealed class JobStore(NpgsqlDataSource database)
{
    /// <summary>A job not moved on for this long has lost its silo: the watcher wakes it elsewhere.</summary>
    public static readonly TimeSpan Stale = TimeSpan.FromSeconds(30);

    private const string Columns = "job_id, tenant_id, kind, state, done, total, cursor, detail, error, created_at, updated_at, finished_at";

    public async Task<Guid> CreateAsync(string tenantId, string kind, string createdBy)
    {
        var id = Guid.CreateVersion7();
        await using var command = database.CreateCommand(
            "INSERT INTO callmesh.jobs (job_id, tenant_id, kind, state, created_by) VALUES ($1, $2, $3, 'queued', $4)");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = kind });
        command.Parameters.Add(new() { Value = createdBy });
        await command.ExecuteNonQueryAsync();
        return id;
    }

    public async Task<JobStatus?> GetAsync(Guid jobId)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM callmesh.jobs WHERE job_id = $1");
        command.Parameters.Add(new() { Value = jobId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    /// <summary>Jobs queued or running that nobody has moved on lately (their silo died, or the cluster restarted).</summary>
    public async Task<List<Guid>> StalledAsync()
    {
        await using var command = database.CreateCommand(
            "SELECT job_id FROM callmesh.jobs WHERE state IN ('queued', 'running') AND updated_at < now() - $1 ORDER BY updated_at LIMIT 100");
        command.Parameters.Add(new() { Value = Stale });
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) ids.Add(reader.GetGuid(0));
        return ids;
    }

    /// <summary>Marks the job running with its units counted, or refreshes its heartbeat when it already runs.</summary>
    public async Task StartAsync(Guid jobId, int total)
    {
        await using var command = database.CreateCommand(
            "UPDATE callmesh.jobs SET state = 'running', total = $2, updated_at = now() WHERE job_id = $1 AND state IN ('queued', 'running')");
        command.Parameters.Add(new() { Value = jobId });
        command.Parameters.Add(new() { Value = total });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Inside the transaction of the unit's work: moves the cursor from <paramref name="from"/> to <paramref name="to"/> and
    /// sets its counts to <paramref name="counts"/> (the totals so far). False when the cursor was no longer <paramref name="from"/> (another activation did
    /// this unit): the caller rolls back.
    /// </summary>
    public static async Task<bool> AdvanceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid jobId, string? from, string to,
        Dictionary<string, long> counts)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE callmesh.jobs SET done = done + 1, cursor = $3, detail = $4, updated_at = now()
             WHERE job_id = $1 AND state = 'running' AND cursor IS NOT DISTINCT FROM $2
            """, connection, transaction);
        command.Parameters.Add(new() { Value = jobId });
        command.Parameters.Add(new() { Value = (object?)from ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = to });
        command.Parameters.Add(new() { Value = JsonSerializer.Serialize(counts), NpgsqlDbType = NpgsqlDbType.Jsonb });
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task FinishAsync(Guid jobId, string? error)
    {
        await using var command = database.CreateCommand(
            "UPDATE callmesh.jobs SET state = $2, error = $3, updated_at = now(), finished_at = now() WHERE job_id = $1 AND state IN ('queued', 'running')");
        command.Parameters.Add(new() { Value = jobId });
        command.Parameters.Add(new() { Value = error is null ? JobStates.Done : JobStates.Failed });
        command.Parameters.Add(new() { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync();
    }

    private static JobStatus Read(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt32(5), r.IsDBNull(6) ? null : r.GetString(6),
        JsonSerializer.Deserialize<Dictionary<string, long>>(r.GetString(7)) ?? [], r.IsDBNull(8) ? null : r.GetString(8),
        r.GetDateTime(9), r.GetDateTime(10), r.IsDBNull(11) ? null : r.GetDateTime(11));
}
