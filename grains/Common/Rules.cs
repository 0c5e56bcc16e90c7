using System.Globalization;
using System.Text.RegularExpressions;
using PhoneNumbers;

namespace CallMesh.Common;

/// <summary>Field rules shared by every configuration grain.</summary>
public static partial class Rules
{
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    private static readonly HashSet<string> Currencies = CultureInfo.GetCultures(CultureTypes.SpecificCultures)
        .Select(c => { try { return new RegionInfo(c.Name).ISOCurrencySymbol; } catch (ArgumentException) { return null; } })
        .OfType<string>()
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>Ids are URL-safe slugs: lower-case letters, digits and dashes, 1 to 64 characters.</summary>
    public static bool IsValidId(string? id) => id is not null && IdPattern().IsMatch(id);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial Regex IdPattern();

    /// <summary>
    /// A phone number must be written in E.164 (+15125550100) and be a valid number for the region
    /// it belongs to. Returns the error message, or null when valid.
    /// </summary>
    public static string? PhoneNumberError(string number)
    {
        // The same few numbers (NAP and tracking numbers) come back on every DNI request. Only what is shaped like E.164
        // (at most 16 characters) is remembered: anything else is refused at once, and an anonymous flood of junk
        // strings leaves nothing behind.
        if (!E164Pattern().IsMatch(number)) return "must be an E.164 number such as +15125550100.";
        if (PhoneChecks.TryGetValue(number, out var known)) return known;
        var error = CheckPhoneNumber(number);
        if (PhoneChecks.Count > 100_000) PhoneChecks.Clear();
        PhoneChecks[number] = error;
        return error;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string?> PhoneChecks = new();
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Displays = new();

    private static string? CheckPhoneNumber(string number)
    {
        if (!E164Pattern().IsMatch(number))
            return "must be an E.164 number such as +15125550100.";
        try
        {
            var parsed = Phones.Parse(number, null);
            if (!Phones.IsValidNumber(parsed))
                return "is not a valid phone number for its region.";
            return Phones.Format(parsed, PhoneNumberFormat.E164) == number ? null : "must be an E.164 number such as +15125550100.";
        }
        catch (NumberParseException)
        {
            return "is not a phone number.";
        }
    }

    /// <summary>How a number is shown to people in its own country: +15125550100 → (512) 555-0100.</summary>
    public static string Display(string e164)
    {
        if (Displays.TryGetValue(e164, out var known)) return known;
        if (Displays.Count > 100_000) Displays.Clear();
        return Displays[e164] = Format(e164);
    }

    private static string Format(string e164)
    {
        try
        {
            return Phones.Format(Phones.Parse(e164, null), PhoneNumberFormat.NATIONAL);
        }
        catch (NumberParseException)
        {
            return e164;
        }
    }

    /// <summary>
    /// A number as people publish it ("(512) 555-0100", "512.555.0100", "+1 512 555 0100"), read as a
    /// number of <paramref name="region"/> unless it carries its country code. Null when it is not a valid number.
    /// </summary>
    public static string? ToE164(string published, string region = "US")
    {
        try
        {
            var parsed = Phones.Parse(published, region);
            return Phones.IsValidNumber(parsed) ? Phones.Format(parsed, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>Every phone number written in free text, as E.164 with the text it was found as.</summary>
    public static IEnumerable<(string Number, string Raw)> FindPhoneNumbers(string text, string region = "US") =>
        Phones.FindNumbers(text, region).Select(m => (Phones.Format(m.Number, PhoneNumberFormat.E164), m.RawString));

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$")]
    private static partial Regex E164Pattern();

    public static void PhoneNumber(ValidationErrors errors, string field, string? value, bool required)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required) errors.Add(field, "is required.");
            return;
        }
        if (PhoneNumberError(value) is { } error) errors.Add(field, error);
    }

    /// <summary>IANA time zone ids only ("America/Chicago"): Windows ids are not portable.</summary>
    public static void TimeZone(ValidationErrors errors, string field, string? value)
    {
        if (errors.Required(field, value) is not { } id) return;
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) || !zone.HasIanaId || zone.Id != id)
            errors.Add(field, $"'{id}' is not an IANA time zone id such as America/Chicago.");
    }

    public static void Currency(ValidationErrors errors, string field, string? value)
    {
        if (errors.Required(field, value) is not { } code) return;
        if (!Currencies.Contains(code))
            errors.Add(field, $"'{code}' is not an ISO 4217 currency code such as USD.");
    }
}
