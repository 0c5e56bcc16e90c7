using CallMesh.Calls;
using CallMesh.Common;
using Npgsql;

namespace CallMesh.Silo.Carriers;

/// <summary>
/// callmesh.carrier_accounts: which tenant owns a carrier account and the token that signs its webhooks.
/// Each silo remembers an account for <see cref="Freshness"/>, so a webhook costs no database round trip
/// for it; a changed token reaches every silo within that time. Tokens are stored sealed (<see cref="SealedSecrets"/>).
/// </summary>
public sealed class CarrierAccounts(NpgsqlDataSource database, SealedSecrets secrets, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(10);
    private readonly FreshCache<CarrierAccount?> _known = new(clock, Freshness, capacity: 10_000);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _proven = new(StringComparer.Ordinal);

    public Task<CarrierAccount?> FindAsync(string accountSid) => _known.GetAsync(accountSid, async sid =>
    {
        await using var command = database.CreateCommand("SELECT account_sid, tenant_id, carrier, auth_token FROM callmesh.carrier_accounts WHERE account_sid = $1");
        command.Parameters.Add(new() { Value = sid });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new CarrierAccount(reader.GetString(0), reader.GetString(1), reader.GetString(2), secrets.Open(reader.GetString(3))) : null;
    });

    /// <summary>
    /// Creates or replaces the tenant's account. Another tenant's account is not touched: while it is unverified, this
    /// tenant's claim waits beside it (<see cref="CarrierSave.Pending"/>) for the carrier's next webhook to decide; once
    /// verified, it is <see cref="CarrierSave.Taken"/>.
    /// </summary>
    public async Task<CarrierSave> SaveAsync(string tenantId, string accountSid, string carrier, string authToken)
    {
        var token = secrets.Seal(authToken);
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var upsert = Sql.Command(connection,
            """
            INSERT INTO callmesh.carrier_accounts (account_sid, tenant_id, carrier, auth_token) VALUES ($1, $2, $3, $4)
            ON CONFLICT (account_sid) DO UPDATE SET carrier = EXCLUDED.carrier, auth_token = EXCLUDED.auth_token, updated_at = now()
             WHERE carrier_accounts.tenant_id = EXCLUDED.tenant_id
            RETURNING (xmax = 0)
            """, accountSid, tenantId, carrier, token);
        var created = await upsert.ExecuteScalarAsync();
        CarrierSave result;
        if (created is bool c) result = c ? CarrierSave.Created : CarrierSave.Updated;
        else
        {
            await using var claim = Sql.Command(connection,
                """
                INSERT INTO callmesh.carrier_account_claims (account_sid, tenant_id, carrier, auth_token)
                SELECT $1, $2, $3, $4 FROM callmesh.carrier_accounts WHERE account_sid = $1 AND verified_at IS NULL
                ON CONFLICT (account_sid, tenant_id) DO UPDATE SET carrier = EXCLUDED.carrier, auth_token = EXCLUDED.auth_token, claimed_at = now()
                """, accountSid, tenantId, carrier, token);
            result = await claim.ExecuteNonQueryAsync() == 1 ? CarrierSave.Pending : CarrierSave.Taken;
        }
        await transaction.CommitAsync();
        _known.Forget(accountSid);
        return result;
    }

    /// <summary>
    /// A webhook signed with the account's own token proves it: marked verified once (behind the answer, never awaited by
    /// the call; remembered per silo, so later calls cost nothing).
    /// </summary>
    public void Proven(string accountSid)
    {
        if (!_proven.TryAdd(accountSid, true)) return;
        _ = Task.Run(async () =>
        {
            try
            {
                await using var command = database.CreateCommand(
                    "UPDATE callmesh.carrier_accounts SET verified_at = now() WHERE account_sid = $1 AND verified_at IS NULL");
                command.Parameters.Add(new() { Value = accountSid });
                await command.ExecuteNonQueryAsync();
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                _proven.TryRemove(accountSid, out _);   // the next webhook tries again
            }
        });
    }

    /// <summary>
    /// A webhook whose signature the holder's token (as this silo knows it) does not match: the holder's stored token may
    /// be newer; else, when another tenant's waiting claim's token matches, the carrier has just proven that claim, which
    /// takes the account (verified) and ends the others. Null: no token matches.
    /// </summary>
    public async Task<CarrierAccount?> ProveClaimAsync(string accountSid, Func<string, bool> signedWith)
    {
        // The holder as stored now: a claim proven a moment ago on another silo has not yet reached this one's copies.
        await using (var holder = database.CreateCommand("SELECT tenant_id, carrier, auth_token FROM callmesh.carrier_accounts WHERE account_sid = $1"))
        {
            holder.Parameters.Add(new() { Value = accountSid });
            await using var reader = await holder.ExecuteReaderAsync();
            if (await reader.ReadAsync() && secrets.Open(reader.GetString(2)) is var current && signedWith(current))
            {
                _known.Forget(accountSid);
                return new CarrierAccount(accountSid, reader.GetString(0), reader.GetString(1), current);
            }
        }
        var claims = new List<(string TenantId, string Carrier, string Token)>();
        await using (var command = database.CreateCommand("SELECT tenant_id, carrier, auth_token FROM callmesh.carrier_account_claims WHERE account_sid = $1"))
        {
            command.Parameters.Add(new() { Value = accountSid });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) claims.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }
        foreach (var (tenantId, carrier, token) in claims)
        {
            if (!signedWith(secrets.Open(token))) continue;
            await using var connection = await database.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(Sql.Command(
                """
                UPDATE callmesh.carrier_accounts SET tenant_id = $2, carrier = $3, auth_token = $4, verified_at = now(), updated_at = now()
                 WHERE account_sid = $1 AND verified_at IS NULL
                """, accountSid, tenantId, carrier, token));
            batch.BatchCommands.Add(Sql.Command("DELETE FROM callmesh.carrier_account_claims WHERE account_sid = $1", accountSid));
            await batch.ExecuteNonQueryAsync();
            if (batch.BatchCommands[0].RecordsAffected == 0) return null;   // verified meanwhile: the holder keeps it
            await transaction.CommitAsync();
            _known.Forget(accountSid);
            _proven[accountSid] = true;
            return new CarrierAccount(accountSid, tenantId, carrier, secrets.Open(token));
        }
        return null;
    }

    /// <summary>The tenant's accounts (verified or not) and its claims still waiting on another tenant's unverified account.</summary>
    public async Task<List<(string AccountSid, string Carrier, DateTime UpdatedAt, string State)>> ListAsync(string tenantId)
    {
        await using var command = database.CreateCommand(
            """
            SELECT account_sid, carrier, updated_at, CASE WHEN verified_at IS NULL THEN 'unverified' ELSE 'verified' END
              FROM callmesh.carrier_accounts WHERE tenant_id = $1
            UNION ALL
            SELECT account_sid, carrier, claimed_at, 'pending' FROM callmesh.carrier_account_claims WHERE tenant_id = $1
            ORDER BY 1
            """);
        command.Parameters.Add(new() { Value = tenantId });
        var accounts = new List<(string, string, DateTime, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) accounts.Add((reader.GetString(0), reader.GetString(1), reader.GetDateTime(2), reader.GetString(3)));
        return accounts;
    }
}

/// <summary>What saving a carrier account did (see <see cref="CarrierAccounts.SaveAsync"/>).</summary>
public enum CarrierSave { Created, Updated, Pending, Taken }
