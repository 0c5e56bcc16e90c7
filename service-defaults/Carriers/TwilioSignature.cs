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
        var data = new StringBuilder(url);
        // Ordinal order by name; a repeated name contributes each distinct value, sorted.
        foreach (var group in parameters.GroupBy(p => p.Key).OrderBy(g => g.Key, StringComparer.Ordinal))
            foreach (var value in group.Select(p => p.Value).Distinct().Order(StringComparer.Ordinal))
                data.Append(group.Key).Append(value);
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(data.ToString())));
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
        var list = parameters.ToList();
        var expected = Encoding.UTF8.GetBytes(signature);
        return UrlVariants(url).Any(candidate =>
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(Compute(authToken, candidate, list)), expected));
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
