using Microsoft.Extensions.Configuration;

namespace CallMesh.Outbound;

/// <summary>
/// Operator settings (section <c>Outbound</c>, e.g. <c>CALLMESH_OUTBOUND__ALLOWPRIVATENETWORKS</c>). The default retry schedule
/// is Standard Webhooks': after the first try, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (about 75 h in all),
/// then the event is dead; a destination failing for 72 h is disabled.
/// </summary>
public sealed record OutboundOptions(bool AllowPrivateNetworks, IReadOnlyList<TimeSpan> RetrySchedule, TimeSpan DisableAfter,
    int BatchSize, int Parallelism, TimeSpan Timeout)
{
    public static readonly IReadOnlyList<TimeSpan> StandardSchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(14), TimeSpan.FromHours(20), TimeSpan.FromHours(24),
    ];

    public static OutboundOptions From(IConfiguration section) => new(
        section.GetValue("AllowPrivateNetworks", false),
        // RetrySeconds "5,300,1800": a shorter schedule for tests and demos.
        section["RetrySeconds"] is { Length: > 0 } seconds
            ? [.. seconds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => TimeSpan.FromSeconds(double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)))]
            : StandardSchedule,
        TimeSpan.FromHours(section.GetValue("DisableAfterHours", 72.0)),
        section.GetValue("BatchSize", 100),
        section.GetValue("Parallelism", 16),
        TimeSpan.FromSeconds(section.GetValue("TimeoutSeconds", 15.0)));
}
