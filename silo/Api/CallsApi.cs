using System.Text;
using CallMesh.Calls;
using CallMesh.Common;
using CallMesh.Identity;
using CallMesh.Silo.Carriers;
using CallMesh.Silo.Database;
using CallMesh.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>Calls and their outcomes, the tenant's carrier accounts and its blocked callers.</summary>
public static class CallsApi
{
    public sealed record CarrierBody(string? Carrier, string? AuthToken);

    public sealed record BlockBody(string? Reason);

    public static RouteGroupBuilder MapCallsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/tenants/{tenant}").WithTags("Calls").RequireAuthorization();
        group.MapPut("/carriers/{accountSid}", PutCarrier)
            .WithSummary("Create or replace a carrier account whose webhooks this tenant receives (brand-admin); authToken is write-only. " +
                         "The first webhook signed with the token verifies it; while another tenant's claim is unverified, this one waits (202).");
        group.MapGet("/carriers", ListCarriers)
            .WithSummary("The tenant's carrier accounts (never their tokens): verified, unverified, or pending on another tenant's unverified claim.");
        group.MapGet("/calls", ListCalls)
            .WithSummary("Calls in the caller's scope, newest first, with cursor paging (location, from, to, match, source, outcome " +
                         "(or none), firstTime, cursor, limit ≤ 500).");
        group.MapGet("/calls/follow-ups", FollowUpList)
            .WithSummary("Missed calls not yet handled in the caller's scope (or one `location`), oldest first, with cursor paging: " +
                         "the locations' call-back list.");
        group.MapPatch("/calls/{callId}", PatchCall)
            .WithSummary("Set a call's `followUp` (open, calledBack, handled): brand admins and the managers of its location; audited.");
        group.MapGet("/calls/{callId}", GetCall).WithSummary("One call with its attribution, routing, qualification and outcome.");
        group.MapPost("/calls/{callId}/outcome", PostOutcome)
            .WithSummary("Record a call's outcome, value and notes (the CRM's key, a brand admin, or a manager for calls in their scope; " +
                         "audited); idempotent per externalId; the call is re-qualified.");
        group.MapPut("/blocked-callers/{number}", BlockCaller)
            .WithSummary("Block a caller: their calls are rejected (<Reject/>) and recorded as blocked (brand-admin).");
        group.MapDelete("/blocked-callers/{number}", UnblockCaller).WithSummary("Unblock a caller (brand-admin).");
        group.MapGet("/blocked-callers", ListBlockedCallers)
            .WithSummary("The tenant's blocked callers, newest first, with the reason given (brand-admin).");
        return group;
    }

    public static async Task<Results<Created<CarrierResource>, Accepted<CarrierResource>, Ok<CarrierResource>, ValidationProblem, ProblemHttpResult>>
        PutCarrier(string tenant, string accountSid, CarrierBody body, HttpContext http, CarrierAccounts accounts, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "carrier accounts") is { } denied) return denied;
        var errors = new ValidationErrors();
        if (accountSid.Length is < 10 or > 64 || !accountSid.All(char.IsAsciiLetterOrDigit)) errors.Add("accountSid", "must be the carrier's account SID (letters and digits).");
        if (body.Carrier is not ("twilio" or "signalwire")) errors.Add("carrier", "must be twilio or signalwire.");
        if (errors.Required("authToken", body.AuthToken) is { Length: < 16 or > 256 }) errors.Add("authToken", "must be 16 to 256 characters.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        var saved = await accounts.SaveAsync(tenant, accountSid, body.Carrier!, body.AuthToken!.Trim());
        if (saved == CarrierSave.Taken)
            return Problems.Problem(StatusCodes.Status409Conflict, "account-taken", "Another tenant uses this carrier account and the carrier has proven it theirs.");
        // The token is write-only: neither the answer nor the audit log carries it.
        await audit.RecordAsync(tenant, "carrier", accountSid, caller.Subject, new { carrier = body.Carrier, authToken = "(set)" });
        var location = $"/v1/tenants/{tenant}/carriers/{accountSid}";
        return saved switch
        {
            CarrierSave.Created => TypedResults.Created(location, new CarrierResource(accountSid, body.Carrier!, "unverified")),
            // Another tenant holds the account unproven: the carrier's next webhook signed with this token decides.
            CarrierSave.Pending => TypedResults.Accepted(location, new CarrierResource(accountSid, body.Carrier!, "pending")),
            _ => TypedResults.Ok(new CarrierResource(accountSid, body.Carrier!, null)),
        };
    }

    public static async Task<Results<Ok<CarrierList>, ProblemHttpResult>> ListCarriers(string tenant, HttpContext http, CarrierAccounts accounts)
    {
        if (Access.DenyConfigure(Caller.From(http.User), tenant, "carrier accounts") is { } denied) return denied;
        var items = (await accounts.ListAsync(tenant)).Select(a => new CarrierResource(a.AccountSid, a.Carrier, a.State, a.UpdatedAt)).ToList();
        return TypedResults.Ok(new CarrierList(items, items.Count));
    }

    public static async Task<Results<Ok<CallPage>, ValidationProblem, ProblemHttpResult>> ListCalls(string tenant, string? location, DateTime? from,
        DateTime? to, string? cursor, int? limit, string? match, string? source, string? outcome, bool? firstTime, HttpContext http,
        IGrainFactory grains, CallStore calls)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        if (caller.LacksScope("calls:read")) return Problems.Forbidden("read calls");
        var errors = new ValidationErrors();
        var after = Paging(limit, cursor, errors);
        if (match is not null && !MatchKinds.All.Contains(match)) errors.Add("match", $"must be one of {string.Join(", ", MatchKinds.All)}.");
        if (source is { Length: 0 or > 100 }) errors.Add("source", "must be 1 to 100 characters.");
        if (outcome is not null && outcome != "none" && !TenantRules.IsOutcome(outcome))
            errors.Add("outcome", $"must be none or one of {TenantRules.OutcomeList}.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var locations = await ListScope(caller, tenant, location, grains);
        var page = await calls.ListAsync(new CallQuery(tenant, locations, from?.ToUniversalTime(), to?.ToUniversalTime(), after, (limit ?? 50) + 1, match,
            source, outcome, firstTime));
        var items = page.Take(limit ?? 50).Select(c => ToResource(c, caller)).ToList();
        return TypedResults.Ok(new CallPage(items, items.Count, page.Count > items.Count ? Cursor(page[items.Count - 1]) : null));
    }

    public static async Task<Results<Ok<CallResource>, ProblemHttpResult>> GetCall(string tenant, string callId, HttpContext http, IGrainFactory grains)
    {
        var caller = Caller.From(http.User);
        if (caller.SeesTenant(tenant) && caller.LacksScope("calls:read")) return Problems.Forbidden("read calls");
        var call = await VisibleCall(caller, tenant, callId, grains);
        return call is null ? Problems.NotFound("call") : TypedResults.Ok(ToResource(call, caller));
    }

    public static async Task<Results<Ok<CallResource>, ValidationProblem, ProblemHttpResult>> PostOutcome(string tenant, string callId,
        CallOutcome body, HttpContext http, IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        // A CRM's key finds the calls it reports on by their id (the carrier's CallSid it was given), without reading others.
        var found = caller.SeesTenant(tenant) && caller.HasScope("outcomes:write")
            ? await grains.GetGrain<ICallGrain>(TenantKey.For(tenant, callId)).Get()
            : await VisibleCall(caller, tenant, callId, grains);
        if (found is null) return Problems.NotFound("call");
        // Brand admins, the CRM's key, and the managers who work the calls they see; analysts only read.
        if (!WorksCalls(caller, tenant) && !caller.HasScope("outcomes:write")) return Problems.Forbidden("record outcomes");
        var result = await grains.GetGrain<ICallGrain>(TenantKey.For(tenant, callId)).SetOutcome(body);
        if (!result.Found) return Problems.NotFound("call");
        if (result.Errors.Count > 0) return Problems.Invalid(result.Errors);
        await audit.RecordAsync(tenant, "outcome", callId, caller.Subject, body);
        return TypedResults.Ok(ToResource(result.Call!, caller));
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> BlockCaller(string tenant, string number, BlockBody? body,
        HttpContext http, IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "blocked callers") is { } denied) return denied;
        if (Rules.PhoneNumberError(number) is { } error) return Problems.Invalid("number", error);
        await grains.GetGrain<ICallerGrain>(TenantKey.For(tenant, number)).SetBlocked(true, body?.Reason);
        await audit.RecordAsync(tenant, "blocked-caller", number, caller.Subject, body ?? new BlockBody(null));
        return TypedResults.NoContent();
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> UnblockCaller(string tenant, string number, HttpContext http,
        IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (Access.DenyConfigure(caller, tenant, "blocked callers") is { } denied) return denied;
        if (Rules.PhoneNumberError(number) is { } error) return Problems.Invalid("number", error);
        await grains.GetGrain<ICallerGrain>(TenantKey.For(tenant, number)).SetBlocked(false, null);
        await audit.RecordAsync(tenant, "blocked-caller", number, caller.Subject, new { unblocked = true });
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<BlockedCallerList>, ProblemHttpResult>> ListBlockedCallers(string tenant, HttpContext http, CallStore calls)
    {
        if (Access.DenyConfigure(Caller.From(http.User), tenant, "blocked callers") is { } denied) return denied;
        return TypedResults.Ok(new BlockedCallerList(await calls.BlockedCallersAsync(tenant)));
    }

    /// <summary>A carrier account as the API shows it (never its token); <c>State</c>: verified, unverified or pending.</summary>
    public sealed record CarrierResource(string AccountSid, string Carrier, string? State, DateTime? UpdatedAt = null);

    public sealed record CarrierList(List<CarrierResource> Items, int Count);

    public sealed record BlockedCallerList(List<BlockedCaller> Items);

    /// <summary>A page of calls; <c>NextCursor</c> asks for the next one (null on the last).</summary>
    public sealed record CallPage(List<CallResource> Items, int Count, string? NextCursor);

    public sealed record CallPatch(string? FollowUp);

    /// <summary>A list's page size and cursor, checked; the cursor's position, or null for the first page.</summary>
    private static (DateTime StartedAt, string CallId)? Paging(int? limit, string? cursor, ValidationErrors errors)
    {
        if (limit is < 1 or > 500) errors.Add("limit", "must be from 1 to 500.");
        var after = cursor is null ? null : ParseCursor(cursor);
        if (cursor is not null && after is null) errors.Add("cursor", "must be a cursor this API gave out.");
        return after;
    }

    /// <summary>The locations a list reads: the caller's (null: the whole tenant), narrowed to one when asked (none if not theirs).</summary>
    private static async Task<IReadOnlyCollection<string>?> ListScope(Caller caller, string tenant, string? location, IGrainFactory grains)
    {
        IReadOnlyCollection<string>? locations = null;
        if (!caller.SeesWholeTenant(tenant))
            locations = (await Access.VisibleLocations(caller, tenant, grains)).Select(l => l.LocationId).ToList();
        return location is null ? locations : locations is null || locations.Contains(location) ? [location] : [];
    }

    /// <summary>Brand admins, and the managers who work the calls they see; analysts and API keys only read here.</summary>
    private static bool WorksCalls(Caller caller, string tenant) =>
        caller.ConfiguresTenant(tenant) || caller.Role is Roles.LocationManager or Roles.MarketManager;

    public static async Task<Results<Ok<CallPage>, ValidationProblem, ProblemHttpResult>> FollowUpList(string tenant, string? location, string? cursor, int? limit, HttpContext http,
        IGrainFactory grains, CallStore calls)
    {
        var caller = Caller.From(http.User);
        if (!caller.SeesTenant(tenant)) return Problems.NotFound("tenant");
        if (caller.LacksScope("calls:read")) return Problems.Forbidden("read calls");
        var errors = new ValidationErrors();
        var after = Paging(limit, cursor, errors);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        var page = await calls.FollowUpsAsync(tenant, await ListScope(caller, tenant, location, grains), after, (limit ?? 50) + 1);
        var items = page.Take(limit ?? 50).Select(c => ToResource(c, caller)).ToList();
        return TypedResults.Ok(new CallPage(items, items.Count, page.Count > items.Count ? Cursor(page[items.Count - 1]) : null));
    }

    public static async Task<Results<Ok<CallResource>, ValidationProblem, ProblemHttpResult>> PatchCall(string tenant, string callId, CallPatch body, HttpContext http, IGrainFactory grains, AuditLog audit)
    {
        var caller = Caller.From(http.User);
        if (caller.SeesTenant(tenant) && caller.LacksScope("calls:read")) return Problems.Forbidden("read calls");
        if (await VisibleCall(caller, tenant, callId, grains) is null) return Problems.NotFound("call");
        if (!WorksCalls(caller, tenant)) return Problems.Forbidden("follow up calls");
        if (body.FollowUp is null || !FollowUps.All.Contains(body.FollowUp))
            return Problems.Invalid("followUp", $"must be one of {string.Join(", ", FollowUps.All)}.");
        var updated = await grains.GetGrain<ICallGrain>(TenantKey.For(tenant, callId)).SetFollowUp(body.FollowUp);
        if (updated is null) return Problems.NotFound("call");
        await audit.RecordAsync(tenant, "follow-up", callId, caller.Subject, body);
        return TypedResults.Ok(ToResource(updated, caller));
    }

    /// <summary>The call when the caller may see it: tenant-wide readers see every call, others the calls of their locations.</summary>
    private static async Task<CallRecord?> VisibleCall(Caller caller, string tenant, string callId, IGrainFactory grains)
    {
        if (!caller.SeesTenant(tenant) || callId.Length > 64) return null;
        var call = await grains.GetGrain<ICallGrain>(TenantKey.For(tenant, callId)).Get();
        if (call is null || caller.SeesWholeTenant(tenant)) return call;
        return call.Attribution.LocationId is { } locationId && await Access.VisibleLocation(caller, tenant, locationId, grains) is not null
            ? call
            : null;
    }

    /// <summary>Analysts, and keys that may not read calls (a CRM's outcome answer), see the tenant's calls but not who called.</summary>
    public static CallResource ToResource(CallRecord c, Caller viewer) =>
        CallResource.From(c, maskCaller: viewer.Role == Roles.Analyst || viewer.LacksScope("calls:read"));

    private static string Cursor(CallRecord last) => Cursor(last.StartedAt, last.CallId);

    public static string Cursor(DateTime startedAt, string callId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{startedAt.Ticks}|{callId}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static (DateTime, string)? ParseCursor(string cursor)
    {
        try
        {
            var padded = cursor.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(padded)).Split('|', 2);
            return parts.Length == 2 && long.TryParse(parts[0], out var ticks) && ticks is >= 0 and <= 3155378975999999999
                ? (new DateTime(ticks, DateTimeKind.Utc), parts[1])
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
