using System.Net;
using System.Net.Sockets;

namespace CallMesh.Edge;

/// <summary>Who a client is, for limits: the gateway's rate limits and a pool's holds per client both key on it.</summary>
public static class ClientKeys
{
    /// <summary>
    /// An IPv4 address, or an IPv6 client's /64 (one subscriber's network: an ISP hands each a /64 or more, so keyed per
    /// /128 one client would have 2^64 keys).
    /// </summary>
    public static string Of(IPAddress? address)
    {
        if (address is null) return "";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes) + "/64";
    }
}
