using System.Security.Cryptography;
using System.Text;

namespace CallMesh.Tests.Infrastructure;

/// <summary>
/// A Standard Webhooks verifier written from the spec for the tests, apart from the production signer: accepts a message
/// when any v1 signature in the header matches the secret, and the timestamp is within 5 minutes.
/// </summary>
public static class SpecWebhookVerifier
{
    public static bool Verify(string secret, string? id, string? timestamp, string? signatures, string body)
    {
        if (id is null || !long.TryParse(timestamp, out var seconds) || signatures is null) return false;
        if (Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - seconds) > 300) return false;
        using var hmac = new HMACSHA256(Convert.FromBase64String(secret["whsec_".Length..]));
        var expected = hmac.ComputeHash(Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}"));
        return signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Split(',', 2))
            .Any(p => p is ["v1", var sig] && CryptographicOperations.FixedTimeEquals(expected, SafeBase64(sig)));
    }

    public static bool Verify(string secret, ReceivedRequest request) =>
        Verify(secret, request.Header("webhook-id"), request.Header("webhook-timestamp"), request.Header("webhook-signature"), request.Body);

    private static byte[] SafeBase64(string value)
    {
        try { return Convert.FromBase64String(value); }
        catch (FormatException) { return []; }
    }
}
