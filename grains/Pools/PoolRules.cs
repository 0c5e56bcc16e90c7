using CallMesh.Common;

namespace CallMesh.Pools;

public static class PoolRules
{
    public const int MaxNumbers = 10_000;

    public static ValidationErrors Validate(PoolConfig config)
    {
        var errors = new ValidationErrors();
        if (config.Location is { } location && !Rules.IsValidId(location))
            errors.Add("location", "must be a location id (or left out for a brand-wide pool).");
        var numbers = config.Numbers ?? [];
        if (numbers.Count is 0 or > MaxNumbers) errors.Add("numbers", $"a pool needs 1 to {MaxNumbers} numbers.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < numbers.Count; i++)
        {
            Rules.PhoneNumber(errors, $"numbers[{i}]", numbers[i], required: true);
            if (numbers[i] is { } n && !seen.Add(n)) errors.Add($"numbers[{i}]", "is listed twice.");
        }
        Rules.PhoneNumber(errors, "overflowNumber", config.OverflowNumber, required: false);
        if (config.OverflowNumber is { } overflow && seen.Contains(overflow))
            errors.Add("overflowNumber", "must not be one of the pool's own numbers.");
        if (config.LeaseSeconds is < 1 or > 86_400) errors.Add("leaseSeconds", "must be from 1 to 86400 (default 1800).");
        if (config.IdleGraceSeconds is < 1 or > 86_400) errors.Add("idleGraceSeconds", "must be from 1 to 86400 (default 300).");
        if (config.RestSeconds is < 0 or > PoolConfig.MaxRestSeconds)
            errors.Add("restSeconds", $"must be from 0 to {PoolConfig.MaxRestSeconds}, or left out to follow the pool's observed call delays.");
        if (config.MaxHoldsPerClient is < 1 || config.MaxHoldsPerClient > numbers.Count)
            errors.Add("maxHoldsPerClient", "must be from 1 to the pool's size (default 5% of it, at least 2).");
        if (config.LateCallWindowSeconds is < 0 or > PoolConfig.MaxLateCallWindowSeconds)
            errors.Add("lateCallWindowSeconds", $"must be from 0 to {PoolConfig.MaxLateCallWindowSeconds} (default {PoolConfig.DefaultLateCallWindowSeconds}).");
        return errors;
    }
}
