using Microsoft.AspNetCore.DataProtection;

namespace CallMesh.Common;

/// <summary>
/// Secrets CallMesh must read back (carrier auth tokens, destinations' signing secrets and API tokens) are stored sealed
/// with ASP.NET Core Data Protection: a database dump alone does not give them away (docs/security.md#secrets-at-rest).
/// The key ring lives in PostgreSQL, itself encrypted with a certificate the database never sees. A stored value without
/// the prefix is one written before sealing began; it reads as it is until the silo seals it at start.
/// </summary>
public sealed class SealedSecrets(IDataProtectionProvider provider)
{
    public const string Prefix = "dp1:";
    private readonly IDataProtector _protector = provider.CreateProtector("CallMesh.SealedSecrets.v1");

    public string Seal(string secret) => Prefix + _protector.Protect(secret);

    public string Open(string stored) => IsSealed(stored) ? _protector.Unprotect(stored[Prefix.Length..]) : stored;

    public static bool IsSealed(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal);
}
