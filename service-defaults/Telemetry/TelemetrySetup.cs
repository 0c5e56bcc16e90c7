using System.Diagnostics;
using CallMesh.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CallMesh.Telemetry;

/// <summary>
/// Logs, metrics and traces for both hosts (docs/observability.md):
/// - logs: JSON lines with trace ids, redacted (<see cref="JsonLogFormatter"/>); CALLMESH_LOG_FORMAT=text for people;
/// - metrics: always collected; Prometheus text on <c>/metrics</c> of the management port (CALLMESH_MANAGEMENT_PORT), and
///   OTLP when an endpoint is configured;
/// - traces: only when an OTLP endpoint is configured (the standard OTEL_EXPORTER_OTLP_* variables), since a span costs
///   CPU on every request. A trace starts at an HTTP request (<see cref="RequestRootedSampler"/>).
/// </summary>
public static class TelemetrySetup
{
    /// <summary>The spans a request's trace is made of, besides ASP.NET Core's, HttpClient's and Npgsql's.</summary>
    public static readonly string[] TraceSources = [Tracing.SourceName, "Microsoft.Orleans.Application", "Yarp.ReverseProxy"];

    /// <summary>OTEL_SDK_DISABLED=true: no metrics and no traces (the bench's baseline); logs stay.</summary>
    private static bool Disabled(IConfiguration configuration) => configuration.GetValue<bool>("OTEL_SDK_DISABLED");

    public static bool TracingEnabled(IConfiguration configuration) =>
        !Disabled(configuration)
        && !string.Equals(configuration["OTEL_TRACES_EXPORTER"], "none", StringComparison.OrdinalIgnoreCase)
        && (!string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]));

    private static bool MetricsExported(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);

    /// <summary>The port that serves <c>/metrics</c> alone, apart from the public API (null: no Prometheus endpoint).</summary>
    public static int? ManagementPort(IConfiguration configuration) => configuration.GetValue<int?>("MANAGEMENT_PORT");

    /// <summary>Listens on the public port and, when one is set, the management port: on <paramref name="address"/> or on all.</summary>
    public static void ListenWithManagementPort(this Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string? address,
        int port, IConfiguration configuration)
    {
        foreach (var each in new[] { port, ManagementPort(configuration) }.OfType<int>())
            if (string.IsNullOrEmpty(address)) kestrel.ListenAnyIP(each);
            else kestrel.Listen(System.Net.IPAddress.Parse(address), each);
    }

    public static WebApplicationBuilder AddCallMeshTelemetry(this WebApplicationBuilder builder, string serviceName)
    {
        var configuration = builder.Configuration;
        if (!string.Equals(configuration["LOG_FORMAT"], "text", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddConsole(o => o.FormatterName = JsonLogFormatter.FormatterName)
                .AddConsoleFormatter<JsonLogFormatter, ConsoleFormatterOptions>();
        }

        if (Disabled(configuration)) return builder;
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceInstanceId: Environment.MachineName + "/" + Environment.ProcessId));
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(CallMeshMetrics.MeterName, "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation();
            if (ManagementPort(configuration) is not null) metrics.AddPrometheusExporter();
            if (MetricsExported(configuration)) metrics.AddOtlpExporter();
        });
        if (TracingEnabled(configuration))
            telemetry.WithTracing(tracing => tracing
                .SetSampler(new RequestRootedSampler(configuration.GetValue("OTEL_TRACES_SAMPLER_ARG", 1.0)))
                .AddSource(TraceSources)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperational(http.Request.Path))
                .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = request => !IsOperational(request.RequestUri?.AbsolutePath))
                .AddNpgsql()
                .AddProcessor(new RedactingProcessor())
                .AddOtlpExporter());
        return builder;
    }

    /// <summary>Serves <c>/metrics</c> on the management port only (the public ports answer 404 there).</summary>
    public static WebApplication MapCallMeshMetrics(this WebApplication app)
    {
        if (ManagementPort(app.Configuration) is { } port && !Disabled(app.Configuration))
            app.MapPrometheusScrapingEndpoint("/metrics").RequireHost($"*:{port}");
        return app;
    }

    // Probes and scrapes every few seconds would bury the requests worth reading.
    private static bool IsOperational(PathString path) => path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics");
    private static bool IsOperational(string? path) => path is not null && IsOperational(new PathString(path));
}

/// <summary>
/// A trace starts at an incoming HTTP request (sampled at the given ratio, OTEL_TRACES_SAMPLER_ARG) and everything in it
/// follows its parent's decision. Spans with no parent that are not requests are background work (the journals' and the
/// outbox's loops, timers, health probes): traced, they would be most of the traces and say little.
/// </summary>
public sealed class RequestRootedSampler(double ratio) : Sampler
{
    private const string IncomingRequest = "Microsoft.AspNetCore.Hosting.HttpRequestIn";
    private readonly TraceIdRatioBasedSampler _roots = new(Math.Clamp(ratio, 0, 1));

    public override SamplingResult ShouldSample(in SamplingParameters parameters)
    {
        if (parameters.ParentContext.TraceId != default)
            return new((parameters.ParentContext.TraceFlags & ActivityTraceFlags.Recorded) != 0
                ? SamplingDecision.RecordAndSample : SamplingDecision.Drop);
        return parameters.Name == IncomingRequest ? _roots.ShouldSample(parameters) : new(SamplingDecision.Drop);
    }
}

/// <summary>
/// Masks phone numbers and credentials in span names and tags before export (<see cref="Redaction"/>): grain ids such as a
/// caller's carry the caller's number, and a trace backend is no place for it.
/// </summary>
public sealed class RedactingProcessor : BaseProcessor<Activity>
{
    public override void OnEnd(Activity activity)
    {
        if (Redaction.Redact(activity.DisplayName) is var name && name != activity.DisplayName) activity.DisplayName = name;
        List<(string Key, string Value)>? masked = null;
        foreach (var (key, value) in activity.TagObjects)
            if (value is string text && Redaction.Redact(text) is var redacted && redacted != text)
                (masked ??= []).Add((key, redacted));
        if (masked is not null)
            foreach (var (key, value) in masked) activity.SetTag(key, value);
    }
}
