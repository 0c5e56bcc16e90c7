using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Database;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>Integration keys (CRM, BI): brand admins issue and revoke them; the key itself is shown once.</summary>
public static class ApiKeysApi
{
    public sealed record ApiKeyBody(string? Name, List<string>? Scopes);

    public static RouteGroupBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/api-keys").WithTags("API keys").RequireAuthorization();
        group.MapPost("", IssueKey)
            .WithSummary("Issue an API key with scopes (outcomes:write, calls:read, reports:read); the key is in this answer only (brand-admin).");
        group.MapGet("", ListKeys).WithSummary("The tenant's API keys, without their secrets.");
        group.MapDelete("/{id}", RevokeKey).WithSummary("Revoke an API key; every silo refuses it within 10 seconds (brand-admin).");
        return group;
    }

    public static async Task<Results<Created<IssuedKey>, ValidationProblem, ProblemHttpResult>> IssueKey(string tenant, ApiKeyBody body,
        HttpContext http, ApiKeys keys, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "API keys") is { } denied) return denied;
        var errors = new ValidationErrors();
        if (errors.Required("name", body.Name) is { Length: > 100 }) errors.Add("name", "must be at most 100 characters.");
        if (body.Scopes is not { Count: > 0 }) errors.Add("scopes", $"name at least one of {string.Join(", ", ApiKeys.Scopes)}.");
        foreach (var (scope, i) in (body.Scopes ?? []).Select((s, i) => (s, i)))
            if (!ApiKeys.Scopes.Contains(scope)) errors.Add($"scopes[{i}]", $"must be one of {string.Join(", ", ApiKeys.Scopes)}.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var (info, key) = await keys.IssueAsync(tenant, body.Name!.Trim(), [.. body.Scopes!.Distinct()], caller.Subject);
        await audit.RecordAsync(tenant, "api-key", info.Id, caller.Subject, new { info.Name, info.Scopes });
        return TypedResults.Created($"/v1/tenants/{tenant}/api-keys/{info.Id}", new IssuedKey(info.Id, info.Name, info.Scopes, info.CreatedAt, key));
    }

    public static async Task<Results<Ok<ApiKeyList>, ProblemHttpResult>> ListKeys(string tenant, HttpContext http, ApiKeys keys)
    {
        if (Access.DenyConfigure(Caller.From(http.User), tenant, "API keys") is { } denied) return denied;
        var items = (await keys.ListAsync(tenant)).Select(k => new ApiKeyResource(k.Id, k.Name, k.Scopes, k.CreatedBy, k.CreatedAt, k.RevokedAt)).ToList();
        return TypedResults.Ok(new ApiKeyList(items, items.Count));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(string tenant, string id, HttpContext http, ApiKeys keys, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "API keys") is { } denied) return denied;
        if (!await keys.RevokeAsync(tenant, id)) return Problems.NotFound("API key");
        await audit.RecordAsync(tenant, "api-key", id, caller.Subject, new { revoked = true });
        return TypedResults.NoContent();
    }

    /// <summary>A new key: <c>Key</c> is the secret, shown in this answer only.</summary>
    public sealed record IssuedKey(string Id, string Name, string[] Scopes, DateTime CreatedAt, string Key);

    public sealed record ApiKeyResource(string Id, string Name, string[] Scopes, string CreatedBy, DateTime CreatedAt, DateTime? RevokedAt);

    public sealed record ApiKeyList(List<ApiKeyResource> Items, int Count);
}
