using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Database;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// The end of every configuration PUT, once the caller's access and the id are checked: the grain's put, its refusal as a
/// problem, the audit entry, and the saved resource (201 with its address when the put created it, else 200).
/// </summary>
public static class ConfigurationPut
{
    public static async Task<Results<Created<T>, Ok<T>, ValidationProblem, ProblemHttpResult>> SaveAsync<T>(
        AuditLog audit, Caller caller, string tenant, string entity, string entityId, object body, string location,
        Func<Task<SaveResult>> put, Func<Task<T>> saved, Func<ProblemHttpResult> notFound)
    {
        var result = await put();
        switch (result.Outcome)
        {
            case SaveOutcome.Invalid: return Problems.Invalid(result.Errors);
            case SaveOutcome.NotFound: return notFound();
        }
        await audit.RecordAsync(tenant, entity, entityId, caller.Subject, body);
        var resource = await saved();
        return result.Outcome == SaveOutcome.Created ? TypedResults.Created(location, resource) : TypedResults.Ok(resource);
    }
}
