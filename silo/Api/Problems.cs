using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// RFC 7807 answers with a stable `type` and `code` that clients can switch on. Typed, so a handler's
/// <c>Results&lt;…&gt;</c> return type lists them and the OpenAPI document describes them.
/// </summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string what) =>
        Problem(StatusCodes.Status404NotFound, "not-found", $"No such {what}.");

    public static ProblemHttpResult Forbidden(string action) =>
        Problem(StatusCodes.Status403Forbidden, "forbidden", $"This token may not {action}.");

    /// <summary>At most this many fields are listed: a 5,000-number import with every number wrong stays a short answer.</summary>
    public const int MaxListedErrors = 50;

    public static ValidationProblem Invalid(IDictionary<string, string[]> errors)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = "validation" };
        if (errors.Count > MaxListedErrors)
        {
            extensions["unlistedErrors"] = errors.Count - MaxListedErrors;
            errors = errors.Take(MaxListedErrors).ToDictionary();
        }
        return TypedResults.ValidationProblem(errors, title: "The request has invalid fields.", type: ProblemResponses.TypeBase + "validation",
            extensions: extensions);
    }

    public static ValidationProblem Invalid(string field, string message) => Invalid(new Dictionary<string, string[]> { [field] = [message] });

    public static ProblemHttpResult Problem(int status, string code, string title, string? detail = null) =>
        ProblemResponses.Result(status, code, title, detail);
}
