using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace CallMesh.Carriers;

/// <summary>
/// Twilio's webhook signature (SignalWire signs the same way): HMAC-SHA1, keyed with the account's auth
/// token, over the full public URL followed by each POST parameter's name and value sorted by name;
/// base64. The URL is accepted with and without its default port, as Twilio's own validators do.
/// </summary>
public static partial class TwilioSignature
{
    public static string Compute(string authToken, string url, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, Encoding.UTF8.GetBytes(authToken));
        return Convert.ToBase64String(Hash(hmac, url, SignedParameters(parameters)));
    }

    /// <summary>What follows the URL in the signed text: each name and value, in ordinal order of name, then of value;
    /// a repeated name contributes each distinct value once.</summary>
    private static byte[] SignedParameters(IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var pairs = parameters.Distinct().ToArray();
        Array.Sort(pairs, (a, b) => string.CompareOrdinal(a.Key, b.Key) is var byName and not 0 ? byName : string.CompareOrdinal(a.Value, b.Value));
        var text = new StringBuilder();
        foreach (var (name, value) in pairs) text.Append(name).Append(value);
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static byte[] Hash(IncrementalHash hmac, string url, byte[] signedParameters)
    {
        hmac.AppendData(Encoding.UTF8.GetBytes(url));
        hmac.AppendData(signedParameters);
        return hmac.GetHashAndReset();
    }

    /// <summary>
    /// A webhook as the carrier sends it: the form posted to <paramref name="path"/> of the public base URL,
    /// signed over that full URL (the demo seeder, the bench and the tests play the carrier with it).
    /// </summary>
    public static HttpRequestMessage SignedRequest(string authToken, Uri publicBase, string path, Dictionary<string, string> form)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", Compute(authToken, publicBase.ToString().TrimEnd('/') + path, form));
        return request;
    }

    public static bool IsValid(string authToken, string url, IEnumerable<KeyValuePair<string, string>> parameters, string? signature)
    {
        if (string.IsNullOrEmpty(signature)) return false;
        // The parameters' text is made once for both URL variants, the HMAC's key once.
        var signed = SignedParameters(parameters);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, Encoding.UTF8.GetBytes(authToken));
        Span<char> computed = stackalloc char[28];   // base64 of SHA-1's 20 bytes
        foreach (var candidate in UrlVariants(url))
            if (Convert.TryToBase64Chars(Hash(hmac, candidate, signed), computed, out var length)
                && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(computed[..length]), MemoryMarshal.AsBytes(signature.AsSpan())))
                return true;
        return false;
    }

    /// <summary>The URL as given, and with its default port added or removed (case and credentials kept, fragment dropped).</summary>
    public static IEnumerable<string> UrlVariants(string url)
    {
        var hash = url.IndexOf('#');
        if (hash >= 0) url = url[..hash];
        yield return url;
        var match = UrlParts().Match(url);
        if (!match.Success) yield break;
        var (scheme, prefix, port, rest) = (match.Groups["scheme"].Value, match.Groups["prefix"].Value, match.Groups["port"].Value, match.Groups["rest"].Value);
        var defaultPort = scheme.Equals("https", StringComparison.OrdinalIgnoreCase) ? "443" : "80";
        yield return port.Length == 0 ? $"{prefix}:{defaultPort}{rest}" : prefix + rest;
    }

    [GeneratedRegex(@"^(?<prefix>(?<scheme>https?)://(?:[^/@]*@)?[^/:?#]+)(?::(?<port>\d+))?(?<rest>.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex UrlParts();
}
