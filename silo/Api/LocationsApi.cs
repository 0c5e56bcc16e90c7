using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Locations;
using CallMesh.Silo.Database;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

public static class LocationsApi
{
    public static RouteGroupBuilder MapLocationsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}/locations").WithTags("Locations").RequireAuthorization();
        group.MapPut("/{location}", PutLocation).WithSummary("Create or replace a location (brand-admin).");
        group.MapPatch("/{location}", PatchLocation)
            .WithSummary("Change some of a location's fields (brand-admin): a JSON merge patch (RFC 7396); what it leaves out stays, null clears.");
        group.MapGet("/{location}", GetLocation).WithSummary("One location, if it is in the caller's scope.");
        group.MapGet("", ListLocations).WithSummary("The locations in the caller's scope, optionally of one market.");
        return group;
    }

    public static async Task<Results<Created<LocationResource>, Ok<LocationResource>, ValidationProblem, ProblemHttpResult>> PutLocation(
        string tenant, string location, LocationConfig body, HttpContext http, IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        var grain = grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, location));
        if (!caller.ConfiguresTenant(tenant))
        {
            // Reveal only what the caller may already see: 403 on its own location, 404 elsewhere.
            var existing = await grain.Get();
            return existing is not null && caller.SeesLocation(tenant, location, existing.Config.Market)
                ? Problems.Forbidden("change locations")
                : Problems.NotFound("location");
        }
        if (!Rules.IsValidId(location))
            return Problems.Invalid("location", "must be lower-case letters, digits and dashes (at most 64).");

        return await ConfigurationPut.SaveAsync(audit, caller, tenant, "location", location, body, $"/v1/tenants/{tenant}/locations/{location}",
            () => grain.Put(body), async () => ToResource((await grain.Get())!), () => Problems.NotFound("tenant"));
    }

    public static async Task<Results<Created<LocationResource>, Ok<LocationResource>, ValidationProblem, ProblemHttpResult>> PatchLocation(
        string tenant, string location, System.Text.Json.JsonElement body, HttpContext http, IGrainFactory grains, AuditLog audit,
        Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var caller = Caller.From(http.User);
        var grain = grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, location));
        var existing = Rules.IsValidId(location) && caller.SeesTenant(tenant) ? await grain.Get() : null;
        if (existing is null || !caller.SeesLocation(tenant, location, existing.Config.Market)) return Problems.NotFound("location");
        if (!caller.ConfiguresTenant(tenant)) return Problems.Forbidden("change locations");
        if (body.ValueKind != System.Text.Json.JsonValueKind.Object) return Problems.Invalid("", "must be a JSON object of the fields to change.");

        // The stored configuration with the patch merged in, then saved as a PUT of the whole would be: validated alike.
        var options = json.Value.SerializerOptions;
        var merged = System.Text.Json.JsonSerializer.SerializeToNode(existing.Config, options)!.AsObject();
        MergePatch(merged, System.Text.Json.Nodes.JsonObject.Create(body)!);
        LocationConfig config;
        try { config = System.Text.Json.JsonSerializer.Deserialize<LocationConfig>(merged, options)!; }
        catch (System.Text.Json.JsonException e) { return Problems.Invalid(e.Path?.TrimStart('$', '.') ?? "", "has the wrong type."); }
        return await ConfigurationPut.SaveAsync(audit, caller, tenant, "location", location, body, $"/v1/tenants/{tenant}/locations/{location}",
            () => grain.Put(config), async () => ToResource((await grain.Get())!), () => Problems.NotFound("tenant"));
    }

    /// <summary>RFC 7396: objects merge member by member, null removes, anything else replaces.</summary>
    private static void MergePatch(System.Text.Json.Nodes.JsonObject target, System.Text.Json.Nodes.JsonObject patch)
    {
        foreach (var (name, value) in patch.ToList())
        {
            if (value is null) target.Remove(name);
            else if (value is System.Text.Json.Nodes.JsonObject inner && target[name] is System.Text.Json.Nodes.JsonObject existing)
                MergePatch(existing, inner);
            else target[name] = value.DeepClone();
        }
    }

    public static async Task<Results<Ok<LocationResource>, ProblemHttpResult>> GetLocation(string tenant, string location, HttpContext http,
        IGrainFactory grains)
    {
        var snapshot = await Access.VisibleLocation(Caller.From(http.User), tenant, location, grains);
        return snapshot is not null ? TypedResults.Ok(ToResource(snapshot)) : Problems.NotFound("location");
    }

    public static async Task<Results<Ok<LocationList>, ProblemHttpResult>> ListLocations(string tenant, string? market, HttpContext http,
        IGrainFactory grains)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        var visible = (await Access.VisibleLocations(caller, tenant, grains)).Where(l => market is null || l.Market == market);
        // Each location answers for itself, in parallel across the silos that host them.
        var snapshots = await Task.WhenAll(visible.Select(l =>
            grains.GetGrain<ILocationGrain>(TenantKey.For(tenant, l.LocationId)).Get()));
        var items = snapshots.OfType<LocationSnapshot>().Select(ToResource).ToList();
        return TypedResults.Ok(new LocationList(items, items.Count));
    }

    public sealed record LocationResource(string Id, string Tenant, string? Name, PostalAddress? Address, string? NapPhone,
        string? ForwardTo, string? TimeZone, List<OpeningHours>? BusinessHours, string? AfterHoursForwardTo, GeoPoint? Geo,
        double? ServiceRadiusMiles, string? Market, List<string>? PagePatterns, ConversionRules? ConversionRules, List<RingStep>? RingSteps,
        bool Voicemail, string? Whisper, string? TextForwardTo, string? RecordingNotice, DateTime UpdatedAt);

    public sealed record LocationList(List<LocationResource> Items, int Count);

    private static LocationResource ToResource(LocationSnapshot s)
    {
        var c = s.Config;
        return new(s.Id, s.TenantId, c.Name, c.Address, c.NapPhone, c.ForwardTo, c.TimeZone, c.BusinessHours,
            c.AfterHoursForwardTo, c.Geo, c.ServiceRadiusMiles, c.Market, c.PagePatterns, c.ConversionRules, c.RingSteps, c.Voicemail, c.Whisper,
            c.TextForwardTo, c.RecordingNotice, s.UpdatedAt);
    }
}
