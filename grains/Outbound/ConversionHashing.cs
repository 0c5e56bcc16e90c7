using System.Security.Cryptography;
using System.Text;

namespace CallMesh.Outbound;

/// <summary>
/// Normalise-then-SHA-256 (lower-case hex) of caller identifiers for enhanced conversions. Google hashes E.164 with its
/// '+' and gmail addresses without dots; Meta hashes the phone's digits only.
/// </summary>
public static class ConversionHashing
{
    public static string Sha256Hex(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>Google: trim, lower-case; for gmail.com and googlemail.com, no dots in the local part.</summary>
    public static string GoogleEmail(string email)
    {
        var normal = email.Trim().ToLowerInvariant();
        var at = normal.LastIndexOf('@');
        if (at > 0 && normal[(at + 1)..] is "gmail.com" or "googlemail.com") normal = normal[..at].Replace(".", "") + normal[at..];
        return Sha256Hex(normal);
    }

    /// <summary>Google: the number in E.164 with its '+' (callers arrive in E.164 from the carrier).</summary>
    public static string GooglePhone(string e164) => Sha256Hex("+" + Digits(e164));

    /// <summary>Meta: digits only, country code included, no '+'.</summary>
    public static string MetaPhone(string e164) => Sha256Hex(Digits(e164));

    private static string Digits(string phone) => new([.. phone.Where(char.IsAsciiDigit)]);
}
