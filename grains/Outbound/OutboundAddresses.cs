using System.Net;
using System.Net.Sockets;

namespace CallMesh.Outbound;

/// <summary>
/// Where CallMesh may send a tenant's events (SSRF guard): https to public addresses only, unless the operator allows
/// private networks (<see cref="OutboundOptions.AllowPrivateNetworks"/>, for local receivers). Checked when a destination
/// is saved and again when each connection opens (<see cref="Client"/>), so a name that later resolves inward is refused too.
/// </summary>
public sealed class OutboundAddresses(OutboundOptions options)
{
    /// <summary>Null when <paramref name="url"/> is a destination CallMesh may send to; else why not.</summary>
    public async Task<string?> RefuseAsync(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.Host.Length == 0)
            return "must be an absolute https URL.";
        if (uri.UserInfo.Length > 0) return "must not carry a user name or password.";
        if (uri.Scheme == "http" && !options.AllowPrivateNetworks) return "must use https.";
        if (options.AllowPrivateNetworks) return null;
        if (uri.IsLoopback || uri.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) || uri.Host.EndsWith(".local", StringComparison.OrdinalIgnoreCase))
            return "must not point at this machine or its network.";
        IPAddress[] addresses;
        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var literal)) addresses = [literal];
        else
        {
            // A name that does not resolve now may later; its connections are checked when they open.
            try { addresses = await Dns.GetHostAddressesAsync(uri.DnsSafeHost).WaitAsync(TimeSpan.FromSeconds(3)); }
            catch (Exception e) when (e is SocketException or TimeoutException) { return null; }
        }
        return addresses.Any(IsPrivate) ? "must not resolve to a private, loopback or link-local address." : null;
    }

    /// <summary>Loopback, private (RFC 1918, carrier-grade NAT, IPv6 unique-local), link-local, unspecified or multicast.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return true;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal;
        var b = address.GetAddressBytes();
        return b[0] is 0 or 10 or 127 || b[0] >= 224
               || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168)
               || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }

    /// <summary>
    /// The client every outbound request goes through: it connects only to addresses <see cref="IsPrivate"/> allows, follows no
    /// redirect (a 3xx is a failed delivery, as Standard Webhooks says) and gives up after <see cref="OutboundOptions.Timeout"/>.
    /// </summary>
    public HttpClient Client { get; } = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),   // DNS changes are seen
        MaxConnectionsPerServer = 64,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        ConnectCallback = async (context, cancellation) =>
        {
            var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellation);
            var allowed = addresses.Where(a => options.AllowPrivateNetworks || !IsPrivate(a)).ToArray();
            if (allowed.Length == 0)
                throw new HttpRequestException($"{context.DnsEndPoint.Host} resolves only to private addresses, which destinations may not use.");
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellation);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        Timeout = options.Timeout,
        DefaultRequestHeaders = { { "User-Agent", "CallMesh-Outbound/1" } },
    };
}
