using CallMesh.Calls;
using CallMesh.Common;
using Npgsql;

namespace CallMesh.Silo.Carriers;

/// <summary>
/// callmesh.carrier_accounts: which tenant owns a carrier account and the token that signs its webhooks.
/// Each silo remembers an account for <see cref="Freshness"/>, so a webhook costs no database round trip
/// for it; a changed token reaches every silo within that time.
/// </summary>
public sealed class CarrierAccounts(NpgsqlDataSource database, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(10);
    private readonly FreshCache<CarrierAccount?> _known = new(clock, Freshness, capacity: 10_000);

    public Task<CarrierAccount?> FindAsync(string accountSid) => _known.GetAsync(accountSid, async sid =>
    {
        await using var command = database.CreateCommand("SELECT account_sid, tenant_id, carrier, auth_token FROM callmesh.carrier_accounts WHERE account_sid = $1");
        command.Parameters.Add(new() { Value = sid });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new CarrierAccount(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)) : null;
    });

    /// <summary>Creates or replaces the tenant's account; false when another tenant owns the account sid.</summary>
    public async Task<(bool Saved, bool Created)> SaveAsync(string tenantId, string accountSid, string carrier, string authToken)
    {
        await using var command = database.CreateCommand(
            """
            INSERT INTO callmesh.carrier_accounts (account_sid, tenant_id, carrier, auth_token) VALUES ($1, $2, $3, $4)
            ON CONFLICT (account_sid) DO UPDATE SET carrier = EXCLUDED.carrier, auth_token = EXCLUDED.auth_token, updated_at = now()
             WHERE carrier_accounts.tenant_id = EXCLUDED.tenant_id
            RETURNING (xmax = 0)
            """);
        command.Parameters.Add(new() { Value = accountSid });
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = carrier });
        command.Parameters.Add(new() { Value = authToken });
        var created = await command.ExecuteScalarAsync();
        _known.Forget(accountSid);
        return created is bool c ? (true, c) : (false, false);
    }

    public async Task<List<(string AccountSid, string Carrier, DateTime UpdatedAt)>> ListAsync(string tenantId)
    {
        await using var command = database.CreateCommand("SELECT account_sid, carrier, updated_at FROM callmesh.carrier_accounts WHERE tenant_id = $1 ORDER BY account_sid");
        command.Parameters.Add(new() { Value = tenantId });
        var accounts = new List<(string, string, DateTime)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) accounts.Add((reader.GetString(0), reader.GetString(1), reader.GetDateTime(2)));
        return accounts;
    }
}
