using System.Globalization;
using CallMesh.Common;

namespace CallMesh.Locations;

public static class LocationRules
{
    public static readonly string[] Days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    private const double MaxServiceRadiusMiles = 1000;
    // At most as many steps as TwiML.StepOf accepts in a callback's URL.
    public const int MaxRingSteps = 5, MaxNumbersPerStep = 10, MinRingTimeout = 5, MaxRingTimeout = 120, DefaultStepTimeout = 20;

    public static ValidationErrors Validate(LocationConfig config)
    {
        var errors = new ValidationErrors();
        if (errors.Required("name", config.Name) is { Length: > 200 }) errors.Add("name", "must be at most 200 characters.");
        Address(errors, config.Address);
        Rules.PhoneNumber(errors, "napPhone", config.NapPhone, required: true);
        // A ring strategy may stand in for the forward number; the forward number alone is a strategy of one step.
        Rules.PhoneNumber(errors, "forwardTo", config.ForwardTo, required: config.RingSteps is not { Count: > 0 });
        RingSteps(errors, config.RingSteps ?? []);
        if (config.RecordingNotice is { Length: > 500 }) errors.Add("recordingNotice", "must be at most 500 characters.");
        if (config.Whisper is { } whisper && (whisper.Length > 200 || whisper.Any(char.IsControl)))
            errors.Add("whisper", "must be at most 200 characters of text, said to whoever answers before the caller is put through.");
        Rules.PhoneNumber(errors, "afterHoursForwardTo", config.AfterHoursForwardTo, required: false);
        Rules.PhoneNumber(errors, "textForwardTo", config.TextForwardTo, required: false);
        Rules.TimeZone(errors, "timeZone", config.TimeZone);
        BusinessHours(errors, config.BusinessHours ?? []);
        Tenants.TenantRules.ValidateRules(errors, "conversionRules", config.ConversionRules);
        Geo(errors, config.Geo);
        if (config.ServiceRadiusMiles is { } radius && (double.IsNaN(radius) || radius <= 0 || radius > MaxServiceRadiusMiles))
            errors.Add("serviceRadiusMiles", $"must be greater than 0 and at most {MaxServiceRadiusMiles}.");
        if (config.Market is { } market && !Rules.IsValidId(market))
            errors.Add("market", "must be lower-case letters, digits and dashes (at most 64).");
        PagePatterns(errors, config.PagePatterns ?? []);
        return errors;
    }

    private static void RingSteps(ValidationErrors errors, List<RingStep> steps)
    {
        if (steps.Count > MaxRingSteps) errors.Add("ringSteps", $"must have at most {MaxRingSteps} steps.");
        for (var i = 0; i < Math.Min(steps.Count, MaxRingSteps); i++)
        {
            var field = $"ringSteps[{i}]";
            if (steps[i] is not { } step) { errors.Add(field, "must be an object with numbers and timeoutSeconds."); continue; }
            if (step.Numbers is not { Count: > 0 and <= MaxNumbersPerStep } numbers)
                errors.Add($"{field}.numbers", $"must list 1 to {MaxNumbersPerStep} numbers that ring together.");
            else
                for (var n = 0; n < numbers.Count; n++) Rules.PhoneNumber(errors, $"{field}.numbers[{n}]", numbers[n], required: true);
            if (step.TimeoutSeconds is < MinRingTimeout or > MaxRingTimeout)
                errors.Add($"{field}.timeoutSeconds", $"must be from {MinRingTimeout} to {MaxRingTimeout} seconds (left out: {DefaultStepTimeout}).");
        }
    }

    private static void Address(ValidationErrors errors, PostalAddress? address)
    {
        if (address is null)
        {
            errors.Add("address", "is required.");
            return;
        }
        errors.Required("address.line1", address.Line1);
        errors.Required("address.city", address.City);
        errors.Required("address.region", address.Region);
        errors.Required("address.postalCode", address.PostalCode);
        if (errors.Required("address.country", address.Country) is { } country
            && (country.Length != 2 || !country.All(char.IsAsciiLetterUpper)))
            errors.Add("address.country", "must be an ISO 3166-1 alpha-2 code such as US.");
    }

    private static void BusinessHours(ValidationErrors errors, List<OpeningHours> hours)
    {
        var parsed = new List<(string Day, TimeSpan Open, TimeSpan Close, int Index)>();
        for (var i = 0; i < hours.Count; i++)
        {
            var field = $"businessHours[{i}]";
            var entry = hours[i];
            if (entry is null) { errors.Add(field, "is required."); continue; }
            if (entry.Day is null || !Days.Contains(entry.Day))
                errors.Add($"{field}.day", $"must be one of {string.Join(", ", Days)}.");
            var open = ParseTime(entry.Open);
            var close = ParseTime(entry.Close);
            if (open is null || open == TimeSpan.FromHours(24)) errors.Add($"{field}.open", "must be a local time from 00:00 to 23:59.");
            if (close is null) errors.Add($"{field}.close", "must be a local time from 00:01 to 24:00.");
            if (open is { } o && close is { } c && c <= o)
                errors.Add($"{field}.close", "must be after open; split an interval that crosses midnight into two days.");
            if (entry.Day is not null && open is { } o2 && close is { } c2 && c2 > o2)
                parsed.Add((entry.Day, o2, c2, i));
        }
        foreach (var day in parsed.GroupBy(p => p.Day))
        {
            var ordered = day.OrderBy(p => p.Open).ToList();
            for (var i = 1; i < ordered.Count; i++)
                if (ordered[i].Open < ordered[i - 1].Close)
                    errors.Add($"businessHours[{ordered[i].Index}]", $"overlaps another interval on {day.Key}.");
        }
    }

    /// <summary>"HH:mm", with "24:00" meaning the end of the day.</summary>
    public static TimeSpan? ParseTime(string? value)
    {
        if (value == "24:00") return TimeSpan.FromHours(24);
        return TimeSpan.TryParseExact(value, @"hh\:mm", CultureInfo.InvariantCulture, out var time) ? time : null;
    }

    private static void Geo(ValidationErrors errors, GeoPoint? geo)
    {
        if (geo is null) return;
        if (geo.Lat is not (>= -90 and <= 90)) errors.Add("geo.lat", "must be a latitude from -90 to 90.");
        if (geo.Lon is not (>= -180 and <= 180)) errors.Add("geo.lon", "must be a longitude from -180 to 180.");
    }

    private static void PagePatterns(ValidationErrors errors, List<string> patterns)
    {
        if (patterns.Count > 50) errors.Add("pagePatterns", "at most 50 patterns.");
        for (var i = 0; i < patterns.Count; i++)
        {
            var pattern = patterns[i];
            if (string.IsNullOrEmpty(pattern) || pattern[0] != '/' || pattern.Length > 300 || pattern.Any(char.IsWhiteSpace))
                errors.Add($"pagePatterns[{i}]", "must be a URL path starting with / (for example /locations/austin/*), without spaces.");
            else if (pattern.Count(c => c == '*') > PagePattern.MaxStars)
                errors.Add($"pagePatterns[{i}]", $"may hold at most {PagePattern.MaxStars} '*'.");
        }
    }
}
