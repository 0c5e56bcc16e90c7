using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Numbers;
using CallMesh.Silo.Database;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

public static class NumbersApi
{
    private static readonly string[] Carriers = ["twilio", "signalwire"];

    public sealed record NumberImportItem(string? Number, string? Carrier, string? AccountSid);

    public static RouteGroupBuilder MapNumbersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/numbers").WithTags("Numbers").RequireAuthorization();
        group.MapPost("", ImportNumbers).WithSummary("Import up to 5000 tracking numbers bought from the carrier (brand-admin); all or nothing.");
        group.MapGet("", ListNumbers).WithSummary("The tenant's tracking numbers and what each is used for.");
        return group;
    }

    public static async Task<Results<Ok<ImportResult>, ValidationProblem, ProblemHttpResult>> ImportNumbers(string tenant,
        List<NumberImportItem> body, HttpContext http, IGrainFactory grains, NumberDirectory directory, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "numbers") is { } denied) return denied;
        if (await grains.GetGrain<ITenantGrain>(tenant).Get() is null) return Problems.NotFound("tenant");

        var errors = new ValidationErrors();
        if (body.Count is 0 or > 5000) errors.Add("", "send 1 to 5000 numbers.");
        var seen = new HashSet<string>();
        for (var i = 0; i < body.Count; i++)
        {
            if (body[i] is null)
            {
                errors.Add($"[{i}]", "must be an object with number and carrier.");
                continue;
            }
            Rules.PhoneNumber(errors, $"[{i}].number", body[i].Number, required: true);
            if (body[i].Number is { } n && !seen.Add(n)) errors.Add($"[{i}].number", "is listed twice.");
            if (body[i].Carrier is not { } carrier || !Carriers.Contains(carrier))
                errors.Add($"[{i}].carrier", $"must be one of {string.Join(", ", Carriers)}.");
        }
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var (imported, elsewhere) = await directory.ImportAsync(tenant,
            body.Select(b => new NumberImport(b.Number!, b.Carrier!, b.AccountSid)).ToList());
        // How many, never which: the answer must not tell one brand another's numbers.
        if (elsewhere.Count > 0)
            return Problems.Problem(StatusCodes.Status409Conflict, "number-taken",
                "Some numbers belong to another tenant; nothing was imported.",
                $"{elsewhere.Count} of the {body.Count} numbers are another tenant's (released there first, they can be imported here).");
        await audit.RecordAsync(tenant, "numbers", "import", caller.Subject, body);
        return TypedResults.Ok(new ImportResult(imported, body.Count - imported));
    }

    public static async Task<Results<Ok<NumberList>, ProblemHttpResult>> ListNumbers(string tenant, HttpContext http, NumberDirectory directory)
    {
        if (Access.DenyTenantWideRead(Caller.From(http.User), tenant, "numbers") is { } denied) return denied;
        var numbers = await directory.ListAsync(tenant);
        return TypedResults.Ok(new NumberList(
            [.. numbers.Select(n => new NumberResource(n.Number, n.Carrier, n.AccountSid, n.Use, n.PoolId, n.LocationId))], numbers.Count));
    }

    public sealed record ImportResult(int Imported, int AlreadyOwned);

    /// <summary>A tracking number and its use: "unassigned", "pool", "overflow" or "static".</summary>
    public sealed record NumberResource(string Number, string Carrier, string? AccountSid, string Use, string? Pool, string? Location);

    public sealed record NumberList(List<NumberResource> Items, int Count);
}
