using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Locations;
using CallMesh.Numbers;
using CallMesh.Silo.Database;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// Fixed numbers per location and offline medium (Google Business Profile, citations, billboards, ...).
/// They are never in a pool and never swapped by the script; a call to one is attributed to its
/// medium, source and campaign.
/// </summary>
public static class StaticNumbersApi
{
    // google-ads-call: the business number of a Google Ads call asset, so calls through Google forwarding numbers land here
    // (their conversions go back as Google's call-conversions file).
    public static readonly string[] Media = ["gbp", "citation", "billboard", "radio", "tv", "print", "direct-mail", "email", "google-ads-call", "other"];

    public sealed record StaticNumberBody(string? Number, string? Medium, string? Label, string? Source, string? Campaign);

    public static RouteGroupBuilder MapStaticNumbersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/locations/{location}/static-numbers").WithTags("Static numbers").RequireAuthorization();
        group.MapPut("/{key}", PutStaticNumber).WithSummary("Create or replace a location's static number for one medium (brand-admin).");
        group.MapGet("", ListStaticNumbers).WithSummary("A location's static numbers, for whoever sees the location.");
        return group;
    }

    public static async Task<Results<Created<StaticNumber>, Ok<StaticNumber>, ValidationProblem, ProblemHttpResult>> PutStaticNumber(
        string tenant, string location, string key, StaticNumberBody body, HttpContext http, IGrainFactory grains, NumberDirectory directory,
        AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "static numbers") is { } denied) return denied;
        if (!Rules.IsValidId(location) || await grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, location)).Get() is null)
            return Problems.NotFound("location");

        var errors = new ValidationErrors();
        if (!Rules.IsValidId(key)) errors.Add("key", "must be lower-case letters, digits and dashes (at most 64).");
        Rules.PhoneNumber(errors, "number", body.Number, required: true);
        if (body.Medium is not { } medium || !Media.Contains(medium)) errors.Add("medium", $"must be one of {string.Join(", ", Media)}.");
        if (body.Label is { Length: > 200 }) errors.Add("label", "must be at most 200 characters.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var existed = (await directory.ListStaticAsync(tenant, location)).Any(s => s.Key == key);
        var staticNumber = new StaticNumber(key, body.Number!, body.Medium!, body.Label, body.Source, body.Campaign);
        if (await directory.AssignStaticAsync(tenant, location, staticNumber) is { } conflict)
            return Problems.Invalid("number", conflict);
        await audit.RecordAsync(tenant, "static-number", $"{location}/{key}", caller.Subject, body);
        var path = $"/v1/tenants/{tenant}/locations/{location}/static-numbers/{key}";
        return existed ? TypedResults.Ok(staticNumber) : TypedResults.Created(path, staticNumber);
    }

    public static async Task<Results<Ok<StaticNumberList>, ProblemHttpResult>> ListStaticNumbers(string tenant, string location, HttpContext http,
        IGrainFactory grains, NumberDirectory directory)
    {
        if (await Access.VisibleLocation(Caller.From(http.User), tenant, location, grains) is null) return Problems.NotFound("location");
        var numbers = await directory.ListStaticAsync(tenant, location);
        return TypedResults.Ok(new StaticNumberList(numbers, numbers.Count));
    }

    public sealed record StaticNumberList(List<StaticNumber> Items, int Count);
}
