using System.Text.RegularExpressions;

namespace CallMesh.Telemetry;

/// <summary>
/// What logs must not carry in clear: callers' phone numbers and credentials. Masks E.164 numbers and bare runs of 10–15
/// digits (all but the last two digits), bearer tokens, JWTs, API keys (cmk_…) and webhook secrets (whsec_…). Digits inside
/// identifiers (a call SID, a GUID) are left alone: a number must stand on its own.
/// </summary>
public static partial class Redaction
{
    [GeneratedRegex(@"(?<![\w+])\+?\d{10,15}(?!\w)")]
    private static partial Regex PhoneNumber();

    [GeneratedRegex(@"(?:(?i:bearer)\s+\S+|eyJ[\w-]+\.[\w-]+\.[\w-]*|cmk_\w+|whsec_[A-Za-z0-9+/=]+)")]
    private static partial Regex Credential();

    public static string Redact(string text)
    {
        if (text.Length < 10) return text;
        text = Credential().Replace(text, m => m.Value[..Math.Min(4, m.Value.Length)] + "…[redacted]");
        return PhoneNumber().Replace(text, m => (m.Value[0] == '+' ? "+" : "") + new string('*', m.Value.TrimStart('+').Length - 2) + m.Value[^2..]);
    }
}
