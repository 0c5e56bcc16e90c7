using System.Net.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CallMesh.Gateway.Proxy;

/// <summary>
/// A silo that was killed refuses connections until the health checks notice. Such a request
/// never reached any silo, so it is safe to send it to another one, whatever its method. An
/// idempotent request (GET, HEAD, PUT, DELETE: our PUTs replace whole resources) is also
/// retried when the silo died after receiving it but before answering.
/// Runs in the proxy pipeline before load balancing, so each attempt picks again from the
/// destinations that have not failed.
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
            if (error is null || attempt == MaxAttempts || context.Response.HasStarted || !SafeToRetry(context.Request, error)) return;
            var remaining = candidates.Where(d => d != proxy.ProxiedDestination).ToList();
            if (remaining.Count == 0) return;

            candidates = remaining;
            proxy.AvailableDestinations = remaining;
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.StatusCode = StatusCodes.Status200OK;
            if (context.Request.Body.CanSeek) context.Request.Body.Position = 0;
        }
    }

    private static bool SafeToRetry(HttpRequest request, IForwarderErrorFeature error) =>
        error.Error == ForwarderError.Request
        && (error.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }
            || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)
            || HttpMethods.IsPut(request.Method) || HttpMethods.IsDelete(request.Method));
}
