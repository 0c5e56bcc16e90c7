using CallMesh.Locations;

namespace CallMesh.Calls;

/// <summary>Whether a location is open at an instant, in its own time zone (a location with no hours is always open).</summary>
public static class BusinessHours
{
    public static bool IsOpen(LocationConfig location, DateTime utc)
    {
        if (location.BusinessHours is not { Count: > 0 } hours) return true;
        var local = LocalTime(location.TimeZone, utc);
        var day = LocationRules.Days[((int)local.DayOfWeek + 6) % 7];   // DayOfWeek starts on Sunday
        return hours.Any(h => h.Day == day
            && LocationRules.ParseTime(h.Open) is { } open && LocationRules.ParseTime(h.Close) is { } close
            && local.TimeOfDay >= open && local.TimeOfDay < close);
    }

    /// <summary>The instant on the location's clock (UTC when it has no time zone).</summary>
    public static DateTime LocalTime(string? timeZone, DateTime utc) =>
        TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), TimeZoneInfo.FindSystemTimeZoneById(timeZone ?? "UTC"));
}
