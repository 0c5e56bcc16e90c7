using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Locations;
using CallMesh.Nap;
using CallMesh.Numbers;
using CallMesh.Silo.Database;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// Name-Address-Phone consistency: each location's citations (where its NAP is published), the audit
/// of what they publish, and a lint of a page's HTML as crawlers see it.
/// </summary>
public static class NapApi
{
    public sealed record LintRequest(string? Html, string? Location);

    public static RouteGroupBuilder MapNapApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}").WithTags("NAP").RequireAuthorization();
        group.MapPut("/locations/{location}/citations/{key}", PutCitation)
            .WithSummary("Register or replace where a location's NAP is published: url, publisher, name, address and phone as shown there (brand-admin).");
        group.MapDelete("/locations/{location}/citations/{key}", DeleteCitation).WithSummary("Remove a citation from the registry (brand-admin).");
        group.MapGet("/locations/{location}/citations", ListCitations).WithSummary("A location's citations, for whoever sees the location.");
        group.MapGet("/locations/{location}/nap/audit", AuditLocation)
            .WithSummary("What is wrong with one location's published NAP: pool numbers (critical), unapproved phones, name/address mismatches, duplicates.");
        group.MapGet("/nap/audit", AuditTenant).WithSummary("The NAP audit of every location in the caller's scope.");
        group.MapPost("/nap/lint", Lint)
            .WithSummary("Lint a page's HTML as served (before scripts run): JSON-LD and microdata telephones, visible numbers, and pool numbers baked into the HTML.");
        return group;
    }

    public static async Task<Results<Created<Citation>, Ok<Citation>, ValidationProblem, ProblemHttpResult>> PutCitation(string tenant,
        string location, string key, CitationInput body, HttpContext http, IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "citations") is { } denied) return denied;
        if (!Rules.IsValidId(location)) return Problems.NotFound("location");
        var citations = grains.GetGrain<ICitationsGrain>(TenantKey.For(tenant, location));
        return await ConfigurationPut.SaveAsync(audit, caller, tenant, "citation", $"{location}/{key}", body,
            $"/v1/tenants/{tenant}/locations/{location}/citations/{key}",
            () => citations.Put(key, body), async () => (await citations.List()).Single(c => c.Key == key), () => Problems.NotFound("location"));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteCitation(string tenant, string location, string key, HttpContext http,
        IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "citations") is { } denied) return denied;
        if (!Rules.IsValidId(location) || !await grains.GetGrain<ICitationsGrain>(TenantKey.For(tenant, location)).Remove(key))
            return Problems.NotFound("citation");
        await audit.RecordAsync(tenant, "citation", $"{location}/{key}", caller.Subject, new { removed = true });
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<CitationList>, ProblemHttpResult>> ListCitations(string tenant, string location, HttpContext http,
        IGrainFactory grains)
    {
        if (await Access.VisibleLocation(Caller.From(http.User), tenant, location, grains) is null) return Problems.NotFound("location");
        var citations = await grains.GetGrain<ICitationsGrain>(TenantKey.For(tenant, location)).List();
        return TypedResults.Ok(new CitationList(citations, citations.Count));
    }

    public static async Task<Results<Ok<NapAuditResource>, ProblemHttpResult>> AuditLocation(string tenant, string location, HttpContext http,
        IGrainFactory grains)
    {
        if (await Access.VisibleLocation(Caller.From(http.User), tenant, location, grains) is null) return Problems.NotFound("location");
        var findings = await grains.GetGrain<ICitationsGrain>(TenantKey.For(tenant, location)).Audit() ?? [];
        return TypedResults.Ok(Summary(findings));
    }

    public static async Task<Results<Ok<NapAuditResource>, ProblemHttpResult>> AuditTenant(string tenant, HttpContext http, IGrainFactory grains)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        var visible = await Access.VisibleLocations(caller, tenant, grains);
        // Each location audits itself, in parallel on whichever silo hosts it.
        var perLocation = await Task.WhenAll(visible.Select(async l =>
        {
            var citations = grains.GetGrain<ICitationsGrain>(TenantKey.For(tenant, l.LocationId));
            return (l.LocationId, Findings: await citations.Audit() ?? [], Citations: await citations.List());
        }));
        var findings = perLocation.SelectMany(l => l.Findings).ToList();
        // One listing page registered under two locations: one of them is misattributed.
        foreach (var shared in perLocation.SelectMany(l => l.Citations.Select(c => (l.LocationId, Citation: c)))
                     .GroupBy(x => NapText.Url(x.Citation.Url)).Where(g => g.Select(x => x.LocationId).Distinct().Count() > 1))
            foreach (var (locationId, citation) in shared.Skip(1))
                findings.Add(new NapFinding(NapAudit.Warning, "duplicate-listing", locationId, citation.Key, citation.Url,
                    $"is also registered for location '{shared.First().LocationId}': one page cannot list two locations."));
        return TypedResults.Ok(Summary(findings, visible.Count));
    }

    public static async Task<Results<Ok<PageLintReport>, ValidationProblem, ProblemHttpResult>> Lint(string tenant, LintRequest body,
        HttpContext http, IGrainFactory grains, NumberDirectory directory)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyTenantWideRead(caller, tenant, "tenant") is { } denied) return denied;
        var errors = new ValidationErrors();
        if (errors.Required("html", body.Html) is { Length: > 1_000_000 }) errors.Add("html", "must be at most 1,000,000 characters.");
        var locations = await grains.GetGrain<ITenantGrain>(tenant).ListLocations();
        if (body.Location is { } expected && locations.All(l => l.LocationId != expected)) errors.Add("location", "is not a location of this tenant.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var (found, problems) = PageLint.Extract(body.Html!);
        var napPhones = locations.Where(l => l.NapPhone is not null).GroupBy(l => l.NapPhone!).ToDictionary(g => g.Key, g => g.First().LocationId);
        var numbers = await directory.FindAsync(tenant, found.Select(n => n.Number));
        return TypedResults.Ok(PageLint.Judge(found, problems, napPhones, numbers, body.Location));
    }

    public sealed record CitationList(List<Citation> Items, int Count);

    /// <summary>Findings, critical first; <c>Locations</c>: how many were audited (the tenant-wide audit only).</summary>
    public sealed record NapAuditResource(int? Locations, int Critical, int Warnings, List<NapFinding> Findings);

    private static NapAuditResource Summary(List<NapFinding> findings, int? locations = null) => new(locations,
        findings.Count(f => f.Severity == NapAudit.Critical), findings.Count(f => f.Severity == NapAudit.Warning),
        [.. findings.OrderBy(f => f.Severity == NapAudit.Critical ? 0 : 1).ThenBy(f => f.Location, StringComparer.Ordinal)]);
}
