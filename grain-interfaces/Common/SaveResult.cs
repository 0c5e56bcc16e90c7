namespace CallMesh.Common;

/// <summary>
/// What a configuration write did. Grains validate what they own, so every caller (API,
/// seeding, tests) gets the same rules; errors are keyed by the field's JSON path.
/// </summary>
[GenerateSerializer, Alias("callmesh.SaveResult")]
public sealed record SaveResult(
    [property: Id(0)] SaveOutcome Outcome,
    [property: Id(1)] Dictionary<string, string[]> Errors)
{
    public static SaveResult Created { get; } = new(SaveOutcome.Created, []);
    public static SaveResult Updated { get; } = new(SaveOutcome.Updated, []);
    public static SaveResult NotFound { get; } = new(SaveOutcome.NotFound, []);
    public static SaveResult Invalid(Dictionary<string, string[]> errors) => new(SaveOutcome.Invalid, errors);
}

public enum SaveOutcome
{
    Created,
    Updated,
    /// <summary>The parent (for a location: its tenant) does not exist.</summary>
    NotFound,
    Invalid,
}
