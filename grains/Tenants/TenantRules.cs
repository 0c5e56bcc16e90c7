using CallMesh.Common;

namespace CallMesh.Tenants;

public static class TenantRules
{
    private static readonly HashSet<string> Outcomes = ["sale", "appointment", "quote", "inquiry", "spam", "other"];

    public static ValidationErrors Validate(TenantConfig config)
    {
        var errors = new ValidationErrors();
        if (errors.Required("name", config.Name) is { Length: > 200 }) errors.Add("name", "must be at most 200 characters.");
        Rules.TimeZone(errors, "timeZone", config.TimeZone);
        Rules.Currency(errors, "currency", config.Currency);
        ValidateRules(errors, "defaultConversionRules", config.DefaultConversionRules);
        Rules.PhoneNumber(errors, "failSafeNumber", config.FailSafeNumber, required: false);
        if (config.RecordingNotice is { Length: > 500 }) errors.Add("recordingNotice", "must be at most 500 characters.");
        if (config.SpamRules is { } spam)
        {
            if (spam.ShortCallSeconds is < 1 or > 120) errors.Add("spamRules.shortCallSeconds", "must be from 1 to 120.");
            if (spam.RepeatedCalls is < 2 or > 100) errors.Add("spamRules.repeatedCalls", "must be from 2 to 100.");
            if (spam.WithinHours is < 1 or > 720) errors.Add("spamRules.withinHours", "must be from 1 to 720.");
        }
        if (config.CallerHistoryDays is < 1 or > 365)
            errors.Add("callerHistoryDays", "must be from 1 to 365, or left out to credit no call by the caller's earlier visit.");
        return errors;
    }

    /// <summary>Whether two conversion rule sets qualify calls alike (records compare their outcome lists by reference).</summary>
    public static bool SameRules(ConversionRules? a, ConversionRules? b) =>
        System.Text.Json.JsonSerializer.Serialize(a) == System.Text.Json.JsonSerializer.Serialize(b);

    public static bool IsOutcome(string? outcome) => outcome is not null && Outcomes.Contains(outcome);

    public static string OutcomeList => string.Join(", ", Outcomes);

    /// <summary>Conversion rules, the tenant's default or a location's override (<paramref name="field"/> names them).</summary>
    public static void ValidateRules(ValidationErrors errors, string field, ConversionRules? rules)
    {
        if (rules is null) return;
        if (rules.MinDurationSeconds is < 0 or > 86_400)
            errors.Add($"{field}.minDurationSeconds", "must be between 0 and 86400.");
        if (rules.UniqueCallerWithinDays is < 1 or > 365)
            errors.Add($"{field}.uniqueCallerWithinDays", "must be between 1 and 365.");
        foreach (var (outcome, i) in (rules.Outcomes ?? []).Select((o, i) => (o, i)))
            if (!Outcomes.Contains(outcome))
                errors.Add($"{field}.outcomes[{i}]", $"must be one of {OutcomeList}.");
    }
}
