using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CallMesh.Common;

/// <summary>
/// CallMesh's own traces: spans for work done behind an answer (a journal's write, a call recorded after its TwiML),
/// parented to the request that caused it so one trace shows both. The hosts export it (service-defaults/Telemetry).
/// </summary>
public static class Tracing
{
    public const string SourceName = "CallMesh";
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>A span for work on behalf of <paramref name="cause"/> (null when nothing traced it or nobody listens).</summary>
    public static Activity? StartBehind(string name, ActivityContext cause, IEnumerable<ActivityLink>? others = null) =>
        cause == default ? null : Source.StartActivity(name, ActivityKind.Internal, cause, links: others);
}

/// <summary>
/// CallMesh's own metrics (meter "CallMesh"; the names in docs/observability.md). One instance per host, created through
/// <see cref="IMeterFactory"/> so a test's in-process silos each count their own.
/// </summary>
public sealed class CallMeshMetrics
{
    public const string MeterName = "CallMesh";

    public CallMeshMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        Leases = Meter.CreateCounter<long>("callmesh.dni.leases", "{lease}",
            "Numbers handed to new sessions by pool and result: granted, early_reuse (lent before its rest ended) or overflow.");
        VoiceAnswer = Meter.CreateHistogram("callmesh.voice.answer.duration", "s",
            "From the carrier's inbound webhook to its TwiML answer, on the silo (signature, routing, journal fsync).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        Deliveries = Meter.CreateCounter<long>("callmesh.outbound.deliveries", "{attempt}",
            "Conversion deliveries attempted, by destination kind and result: delivered or failed (retried on its schedule).");
        RoutingReloads = Meter.CreateCounter<long>("callmesh.routing.reloads", "{reload}",
            "Reloads of the silo's routing snapshot (after configuration changes, at most one a second in a burst); whole: every number read.");
        RoutingNumbersRead = Meter.CreateCounter<long>("callmesh.routing.numbers_read", "{number}",
            "Tracking numbers read by routing snapshot reloads: all of them at start and every 5 minutes (whole), else those changed.");
        ReportDuration = Meter.CreateHistogram("callmesh.report.duration", "s", "Time to answer a report, by report.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    }

    public Meter Meter { get; }
    public Counter<long> Leases { get; }
    public Histogram<double> VoiceAnswer { get; }
    public Counter<long> Deliveries { get; }
    public Histogram<double> ReportDuration { get; }
    public Counter<long> RoutingReloads { get; }
    public Counter<long> RoutingNumbersRead { get; }

    public void LeaseGranted(string tenantId, string poolId, bool overflow, bool earlyReuse) =>
        Leases.Add(1, new("tenant", tenantId), new("pool", poolId),
            new("result", overflow ? "overflow" : earlyReuse ? "early_reuse" : "granted"));

    /// <summary>A gauge read when metrics are collected (a queue's depth the owner already counts).</summary>
    public void Gauge(string name, string unit, string description, Func<long> read) =>
        Meter.CreateObservableGauge(name, read, unit, description);

    /// <summary>A counter read when metrics are collected (a total the owner already keeps).</summary>
    public void Total(string name, string unit, string description, Func<long> read) =>
        Meter.CreateObservableCounter(name, read, unit, description);
}
