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
        if (config.DefaultConversionRules is { } rules)
        {
            if (rules.MinDurationSeconds is < 0 or > 86_400)
                errors.Add("defaultConversionRules.minDurationSeconds", "must be between 0 and 86400.");
            if (rules.UniqueCallerWithinDays is < 1 or > 365)
                errors.Add("defaultConversionRules.uniqueCallerWithinDays", "must be between 1 and 365.");
            foreach (var (outcome, i) in (rules.Outcomes ?? []).Select((o, i) => (o, i)))
                if (!Outcomes.Contains(outcome))
                    errors.Add($"defaultConversionRules.outcomes[{i}]", $"must be one of {string.Join(", ", Outcomes)}.");
        }
        return errors;
    }
}
