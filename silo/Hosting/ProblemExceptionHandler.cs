using System.Text;
using Microsoft.AspNetCore.Diagnostics;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// Answers the exceptions a client or the weather causes, not a bug: an unreadable body (400/413/415), a silo that left
/// the cluster, or a database that cannot be reached (503 with Retry-After). Handled here, they are one warning line,
/// at most one a second per kind (a client sending junk must not flood the log); anything else stays a logged 500.
/// </summary>
public sealed class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> logger, TimeProvider clock) : IExceptionHandler
{
    private readonly LogThrottle _throttle = new(clock);

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        var (status, code, title, detail) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, "malformed-request", "The request could not be read.",
                bad.InnerException is System.Text.Json.JsonException json ? $"{bad.Message} {json.Message}" : bad.Message),
            // The form reader's own refusals (a field too long, too many fields, a body it cannot decode).
            InvalidDataException or DecoderFallbackException => (StatusCodes.Status400BadRequest, "malformed-request",
                "The request could not be read.", exception.Message),
            // Text PostgreSQL cannot store: StorableText refuses NULs before any statement; this is the last resort.
            Npgsql.PostgresException { SqlState: "22021" or "22P05" } => (StatusCodes.Status400BadRequest, "malformed-request",
                "The request holds characters that cannot be stored (such as NUL).", null),
            _ when TransientFaults.IsDatabaseUnavailable(exception) => (StatusCodes.Status503ServiceUnavailable,
                ProblemResponses.TemporarilyUnavailable, "The database is unavailable; retry in a moment.", null),
            _ when TransientFaults.IsClusterChange(exception) => (StatusCodes.Status503ServiceUnavailable,
                ProblemResponses.TemporarilyUnavailable, "A silo left the cluster; retry in a moment.", null),
            _ => (0, "", "", null),
        };
        if (status == 0) return false;

        if (_throttle.Allow(code, out var skipped))
            logger.LogWarning("{Method} {Path}: {Status} {Code} ({Reason}){Skipped}", http.Request.Method, http.Request.Path, status, code,
                exception.GetType().Name + ": " + FirstLine(exception.Message), skipped > 0 ? $"; {skipped} more since the last line" : "");
        if (status == StatusCodes.Status503ServiceUnavailable) http.Response.Headers.RetryAfter = "1";
        await ProblemResponses.WriteAsync(http, status, code, title, detail);
        return true;
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim() is var line && line.Length > 200 ? line[..200] : line;

    /// <summary>One line per kind per second; the next line says how many were left out.</summary>
    private sealed class LogThrottle(TimeProvider clock)
    {
        private readonly Dictionary<string, (long At, int Skipped)> _last = [];

        public bool Allow(string kind, out int skipped)
        {
            var now = clock.GetTimestamp();
            lock (_last)
            {
                if (_last.TryGetValue(kind, out var last) && clock.GetElapsedTime(last.At, now) < TimeSpan.FromSeconds(1))
                {
                    _last[kind] = last with { Skipped = last.Skipped + 1 };
                    skipped = 0;
                    return false;
                }
                skipped = last.Skipped;
                _last[kind] = (now, 0);
                return true;
            }
        }
    }
}
