namespace CallMesh.Silo.Api;

/// <summary>RFC 7807 answers with a stable `type` and `code` that clients can switch on.</summary>
public static class Problems
{
    public static IResult NotFound(string what) =>
        Problem(StatusCodes.Status404NotFound, "not-found", $"No such {what}.");

    public static IResult Forbidden(string action) =>
        Problem(StatusCodes.Status403Forbidden, "forbidden", $"This token may not {action}.");

    /// <summary>At most this many fields are listed: a 5,000-number import with every number wrong stays a short answer.</summary>
    public const int MaxListedErrors = 50;

    public static IResult Invalid(IDictionary<string, string[]> errors)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = "validation" };
        if (errors.Count > MaxListedErrors)
        {
            extensions["unlistedErrors"] = errors.Count - MaxListedErrors;
            errors = errors.Take(MaxListedErrors).ToDictionary();
        }
        return Results.ValidationProblem(errors, title: "The request has invalid fields.", type: ProblemResponses.TypeBase + "validation",
            extensions: extensions);
    }

    public static IResult Invalid(string field, string message) => Invalid(new Dictionary<string, string[]> { [field] = [message] });

    public static IResult Problem(int status, string code, string title, string? detail = null) =>
        ProblemResponses.Result(status, code, title, detail);

    /// <summary>The answer to an accepted PUT: 201 with its location when it created the resource, else 200.</summary>
    public static IResult Saved(Common.SaveResult result, string location, object resource) =>
        result.Outcome == Common.SaveOutcome.Created ? Results.Created(location, resource) : Results.Ok(resource);
}
