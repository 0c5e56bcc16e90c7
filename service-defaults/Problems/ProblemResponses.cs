using Microsoft.AspNetCore.Http;

namespace CallMesh;

/// <summary>
/// RFC 7807 answers with a stable <c>type</c> and <c>code</c> that clients can switch on. Compiled into the silo and the
/// gateway (linked), so a client gets the same kind of answer whichever of the two refused its request.
/// </summary>
public static class ProblemResponses
{
    public const string TypeBase = "https://callmesh.dev/problems/";

    /// <summary>A silo left, or was lost, while it had the request: retry after Retry-After.</summary>
    public const string TemporarilyUnavailable = "temporarily-unavailable";

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Result(int status, string code, string title, string? detail = null) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail, type: TypeBase + code,
            extensions: new Dictionary<string, object?> { ["code"] = code });

    /// <summary>Names the kind of a problem ASP.NET Core built from an exception (ProblemDetailsOptions.CustomizeProblemDetails).</summary>
    public static void Describe(Microsoft.AspNetCore.Mvc.ProblemDetails problem, string code, string title)
    {
        problem.Type = TypeBase + code;
        problem.Title = title;
        problem.Extensions["code"] = code;
    }

    /// <summary>Writes the problem from middleware or an authentication handler, where no endpoint returns an IResult.</summary>
    public static Task WriteAsync(HttpContext http, int status, string code, string title, string? detail = null)
    {
        http.Response.StatusCode = status;
        return Result(status, code, title, detail).ExecuteAsync(http);
    }
}
