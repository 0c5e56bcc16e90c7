using System.Net;
using System.Net.Sockets;

namespace CallMesh.Tests.Infrastructure;

public static class Ports
{
    // Below both the kernel's ephemeral range (32768–60999, where outgoing connections take
    // their local ports) and Orleans TestingHost's ranges (22300–30000, 40000–50000): a port we
    // probe and hand to a child process cannot be taken meanwhile by a client socket or by an
    // in-process test cluster. Each port is handed out once per test run.
    private const int First = 12000, Last = 22000;
    private static int _next = First + Random.Shared.Next(Last - First);

    /// <summary>A TCP port that is free on loopback now and was not handed out before in this run.</summary>
    public static int Free()
    {
        for (var attempt = 0; attempt < Last - First; attempt++)
        {
            var port = First + (Interlocked.Increment(ref _next) - First) % (Last - First);
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) { }
        }
        throw new InvalidOperationException($"no free TCP port between {First} and {Last}");
    }
}
