using System.Net.Http;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CallMesh.Gateway.Proxy;

/// <summary>
/// A silo that was killed refuses connections until the health checks notice. Such a request
/// never reached any silo, so it is safe to send it to another one, whatever its method. An
/// idempotent request (GET, HEAD, PUT, DELETE: our PUTs replace whole resources; a carrier's webhook) is also
/// retried when the silo died after receiving it but before answering.
/// Runs in the proxy pipeline before load balancing, so each attempt picks again from the
/// destinations that have not failed.
/// A request it cannot retry (a POST whose silo died after receiving it, or no silo left to try) is a
/// 503 with Retry-After, as the silo answers a request that a cluster change interrupted, not YARP's 502; except a
/// carrier webhook the gateway can answer itself (<see cref="IWebhookFallback"/>).
/// </summary>
public static class RetryOnSiloFailure
{
    private const int MaxAttempts = 3;

    public static async Task Invoke(HttpContext context, Func<Task> next)
    {
        var proxy = context.GetReverseProxyFeature();
        var candidates = proxy.AvailableDestinations;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
            context.Request.EnableBuffering();

        for (var attempt = 1; ; attempt++)
        {
            await next();

            var error = context.Features.Get<IForwarderErrorFeature>();
            if (error is null || context.Response.HasStarted) return;
            var remaining = candidates.Where(d => d != proxy.ProxiedDestination).ToList();
            if (attempt == MaxAttempts || remaining.Count == 0 || !SafeToRetry(context.Request, error))
            {
                // A carrier webhook that no silo took, which the gateway can answer itself (a ring step's result).
                if (IsCarrierWebhook(context.Request) && context.RequestServices.GetService(typeof(IWebhookFallback)) is IWebhookFallback fallback
                    && await fallback.TryAnswerAsync(context)) return;
                if (SiloLost(error)) await AnswerSiloLost(context);
                return;
            }

            candidates = remaining;
            proxy.AvailableDestinations = remaining;
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.StatusCode = StatusCodes.Status200OK;
            if (context.Request.Body.CanSeek) context.Request.Body.Position = 0;
        }
    }

    /// <summary>The silo failed the request (not the client, and not a timeout, which stays a 504).</summary>
    private static bool SiloLost(IForwarderErrorFeature error) =>
        error.Error is ForwarderError.Request or ForwarderError.RequestBodyDestination;

    private static Task AnswerSiloLost(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        // The kind the silo answers when a cluster change interrupts a request (silo/Hosting/ApiSetup.cs): one kind to retry.
        return ProblemResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemResponses.TemporarilyUnavailable,
            "No silo answered this request; retry in a moment.",
            "A silo stopped or refused the connection. A request it had received may or may not have taken effect.");
    }

    private static bool SafeToRetry(HttpRequest request, IForwarderErrorFeature error) =>
        error.Error == ForwarderError.Request
        && (error.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }
            || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)
            || HttpMethods.IsPut(request.Method) || HttpMethods.IsDelete(request.Method)
            || IsCarrierWebhook(request));

    /// <summary>
    /// A carrier's webhook is idempotent (a call by its call id, a callback by its key: silo/Calls/CallJournal.cs), and a
    /// caller is waiting on it: sent again to another silo rather than answered with an error the caller would hear.
    /// </summary>
    public static bool IsCarrierWebhook(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments("/v1/voice");
}

/// <summary>Answers a carrier webhook that no silo took, when the gateway can; false leaves the proxy's answer.</summary>
public interface IWebhookFallback
{
    Task<bool> TryAnswerAsync(HttpContext context);
}
