using System.Net.Sockets;
using Npgsql;
using Orleans.Runtime;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// Faults that pass by themselves: a silo that left the cluster mid-call, or a database that is restarting or failing
/// over. A request they interrupt is a 503 with Retry-After (the client may send it again), never a 500.
/// </summary>
public static class TransientFaults
{
    /// <summary>A grain call that was in flight to a silo that just died; the grain is re-activated elsewhere in seconds.</summary>
    public static bool IsClusterChange(Exception? e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException;

    /// <summary>
    /// Calls again a grain call that a silo's departure interrupted (a rolling restart), once the grain has moved. Only
    /// for calls that may run twice: a DNI allocation whose first answer never reached the browser at worst leaves a
    /// lease nobody was shown, which expires.
    /// </summary>
    public static async Task<T> AcrossClusterChangesAsync<T>(Func<Task<T>> call, int attempts = 3)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            // Not a timeout: that call may still be running, and asking again would only wait as long once more.
            catch (Exception e) when (attempt < attempts && e is SiloUnavailableException or OrleansMessageRejectionException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt));
            }
        }
    }

    /// <summary>PostgreSQL cannot be reached, here or inside a grain (Orleans may carry the fault by its type name only).</summary>
    public static bool IsDatabaseUnavailable(Exception? e) => e switch
    {
        null => false,
        NpgsqlException { IsTransient: true } or SocketException => true,
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" } => true,   // shutting down, starting, too many clients
        Orleans.Serialization.UnavailableExceptionFallbackException fallback => fallback.ExceptionType?.Contains("Npgsql", StringComparison.Ordinal) == true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsDatabaseUnavailable),
        _ => IsDatabaseUnavailable(e.InnerException),
    };
}
