using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CallMesh.Identity;

public sealed record ApiKeyInfo(string Id, string TenantId, string Name, string[] Scopes, string CreatedBy, DateTime CreatedAt, DateTime? RevokedAt);

/// <summary>
/// Tenant API keys for integrations (CRM, BI): "cmk_{id}_{secret}". Only a SHA-256 of the 256-bit secret
/// is stored (callmesh.api_keys); the key is shown once, when it is issued. Each silo remembers a checked key
/// for <see cref="Freshness"/>: a revoked key stops working on every silo within that time.
/// </summary>
public sealed class ApiKeys(NpgsqlDataSource database, TimeProvider clock)
{
    public static readonly string[] Scopes = ["outcomes:write", "calls:read", "reports:read", "spend:write"];
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(10);
    private readonly Common.FreshCache<(ApiKeyInfo? Key, byte[] Hash)> _known = new(clock, Freshness, capacity: 10_000);

    public async Task<(ApiKeyInfo Info, string Key)> IssueAsync(string tenantId, string name, string[] scopes, string createdBy)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        await using var command = database.CreateCommand(
            "INSERT INTO callmesh.api_keys (key_id, tenant_id, name, scopes, secret_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at");
        foreach (var value in new object[] { id, tenantId, name, scopes, SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)), createdBy })
            command.Parameters.Add(new() { Value = value });
        var createdAt = (DateTime)(await command.ExecuteScalarAsync())!;
        return (new ApiKeyInfo(id, tenantId, name, scopes, createdBy, createdAt, null), $"{JwtSetup.ApiKeyPrefix}{id}_{secret}");
    }

    public async Task<bool> RevokeAsync(string tenantId, string id)
    {
        await using var command = database.CreateCommand("UPDATE callmesh.api_keys SET revoked_at = now() WHERE tenant_id = $1 AND key_id = $2 AND revoked_at IS NULL");
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = id });
        _known.Forget(id);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task<List<ApiKeyInfo>> ListAsync(string tenantId)
    {
        await using var command = database.CreateCommand(
            "SELECT key_id, tenant_id, name, scopes, created_by, created_at, revoked_at FROM callmesh.api_keys WHERE tenant_id = $1 ORDER BY created_at");
        command.Parameters.Add(new() { Value = tenantId });
        var keys = new List<ApiKeyInfo>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            keys.Add(new ApiKeyInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3), reader.GetString(4),
                reader.GetDateTime(5), reader.IsDBNull(6) ? null : reader.GetDateTime(6)));
        return keys;
    }

    /// <summary>The live key a presented "cmk_{id}_{secret}" stands for, or null.</summary>
    public async Task<ApiKeyInfo?> CheckAsync(string presented)
    {
        var parts = presented.Split('_');
        if (parts.Length != 3 || parts[0] + "_" != JwtSetup.ApiKeyPrefix || parts[1].Length != 16 || parts[2].Length != 64) return null;
        var (id, hash) = (parts[1], SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(parts[2])));
        var known = await _known.GetAsync(id, async keyId =>
        {
            await using var command = database.CreateCommand(
                "SELECT key_id, tenant_id, name, scopes, created_by, created_at, revoked_at, secret_hash FROM callmesh.api_keys WHERE key_id = $1");
            command.Parameters.Add(new() { Value = keyId });
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync()
                ? (new ApiKeyInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3), reader.GetString(4),
                    reader.GetDateTime(5), reader.IsDBNull(6) ? null : reader.GetDateTime(6)), reader.GetFieldValue<byte[]>(7))
                : ((ApiKeyInfo?)null, Array.Empty<byte>());
        });
        return known.Key is { RevokedAt: null } && CryptographicOperations.FixedTimeEquals(known.Hash, hash) ? known.Key : null;
    }
}

/// <summary>Authenticates "Bearer cmk_…" as the key's tenant with its scopes (role "api-key").</summary>
public sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer " + JwtSetup.ApiKeyPrefix, StringComparison.Ordinal)) return AuthenticateResult.NoResult();
        if (await keys.CheckAsync(header["Bearer ".Length..]) is not { } key) return AuthenticateResult.Fail("Unknown or revoked API key.");
        Claim[] claims =
        [
            new(JwtSetup.SubjectClaim, $"api-key:{key.Id}"), new(JwtSetup.TenantClaim, key.TenantId), new(JwtSetup.RoleClaim, Roles.ApiKey),
            .. key.Scopes.Select(s => new Claim(JwtSetup.ScopeClaim, s)),
        ];
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name, JwtSetup.SubjectClaim, JwtSetup.RoleClaim)), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ProblemResponses.WriteAsync(Context, StatusCodes.Status401Unauthorized, "unauthorized", "A valid bearer token or API key is required.");
}
