using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using CallMesh.Common;
using CallMesh.Dni;
using CallMesh.Locations;
using CallMesh.Silo.Geo;
using CallMesh.Silo.Hosting;
using CallMesh.Sites;
using CallMesh.Tenants;
using CallMesh.Visitors;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CallMesh.Silo.Api;

/// <summary>
/// The anonymous endpoints the swap script calls. Bodies are JSON whatever their content type:
/// the script sends text/plain so that browsers skip the CORS preflight round trip.
/// </summary>
public static partial class DniApi
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{5}(-\d{4})?$")]
    private static partial System.Text.RegularExpressions.Regex UsZip();

    public const int MaxBodyBytes = 16 * 1024;
    public const int MaxTargets = 20;

    public sealed record SessionRequest(string? SiteKey, string? VisitorId, string? SessionId, string? Url, string? Referrer,
        List<string>? Targets, GeoHint? Geo);

    public sealed record GeoHint(string? PostalCode, double? Lat, double? Lon);

    public sealed record HeartbeatRequest(string? SiteKey, string? VisitorId);

    public sealed record SwapResource(string Target, string Number, string Display, string? Location, bool Overflow, string ResolvedBy);

    public sealed record SessionResponse(Guid VisitorId, Guid? SessionId, DateTime ExpiresAt, List<SwapResource> Swaps, bool Test);

    public sealed record HeartbeatResponse(DateTime ExpiresAt);

    /// <summary>The number an AMP page shows (amp-call-tracking's response).</summary>
    public sealed record AmpNumber(string PhoneNumber, string FormattedPhoneNumber);

    public static RouteGroupBuilder MapDniApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/dni").WithTags("DNI");

        group.MapPost("/sessions", StartSession).Produces<SessionResponse>()
            .WithSummary("Leases tracking numbers for the numbers found on a page (anonymous; CORS for the site's domains).");
        group.MapPost("/sessions/{sessionId}/heartbeat", Heartbeat)
            .WithSummary("Keeps the session's leases while the page is open. Body: {siteKey, visitorId}.");
        group.MapGet("/amp", Amp)
            .WithSummary("amp-call-tracking: {phoneNumber, formattedPhoneNumber} for ?siteKey=&target=.");
        // The real check is on the request itself (the site's domains); a preflight carries no site key.
        group.MapMethods("/{**rest}", [HttpMethods.Options], Preflight).ExcludeFromDescription();
        return group;
    }

    private static NoContent Preflight(HttpContext http)
    {
        http.Response.Headers.AccessControlAllowOrigin = http.Request.Headers.Origin.ToString() is { Length: > 0 } o ? o : "*";
        http.Response.Headers.AccessControlAllowMethods = "GET, POST";
        http.Response.Headers.AccessControlAllowHeaders = "content-type";
        http.Response.Headers.AccessControlMaxAge = "600";
        http.Response.Headers.Vary = "Origin";
        return TypedResults.NoContent();
    }

    public static async Task<Results<JsonHttpResult<SessionResponse>, ValidationProblem, ProblemHttpResult>> StartSession(HttpContext http,
        GrainReferences references, DniLookups lookups, ZipCentroids zips, IpGeolocation ip, SiteLimits siteLimits)
    {
        if (await ReadBody(http, DniRequestJson.Default.SessionRequest) is not { } body) return Malformed();
        var errors = new ValidationErrors();
        var siteKey = SiteKey(errors, http, body.SiteKey);
        var url = AbsoluteHttpUrl(errors, "url", body.Url, required: true);
        var referrer = AbsoluteHttpUrl(errors, "referrer", body.Referrer, required: false);
        var visitorId = OptionalGuid(errors, "visitorId", body.VisitorId);
        var sessionId = OptionalGuid(errors, "sessionId", body.SessionId);
        var targets = body.Targets ?? [];
        if (targets.Count > MaxTargets) errors.Add("targets", $"at most {MaxTargets} numbers per page.");
        // Past the maximum the request is refused anyway: validating what lies beyond would be work for the sender's benefit.
        for (var i = 0; i < Math.Min(targets.Count, MaxTargets); i++) Rules.PhoneNumber(errors, $"targets[{i}]", targets[i], required: true);
        if (body.Geo is { } geo && (geo.Lat is null) != (geo.Lon is null)) errors.Add("geo", "give both lat and lon, or neither.");
        if (body.Geo?.Lat is < -90 or > 90 or double.NaN) errors.Add("geo.lat", "must be a latitude from -90 to 90.");
        if (body.Geo?.Lon is < -180 or > 180 or double.NaN) errors.Add("geo.lon", "must be a longitude from -180 to 180.");
        if (body.Geo?.PostalCode is { } postal && !UsZip().IsMatch(postal)) errors.Add("geo.postalCode", "must be a US ZIP code such as 78701 or 78701-1234.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var site = await lookups.SiteAsync(siteKey!);
        if (site is null) return UnknownSite();
        if (OriginProblem(http, site, url!) is { } denied) return denied;
        AllowOrigin(http);
        if (siteLimits.Refuse(http, site.SiteKey) is { } limited) return limited;

        // Time-ordered ids (UUIDv7): the visitor and session indexes then grow at their right edge, as a sequence
        // would, instead of every new visitor touching a random page of a large index.
        var visitor = visitorId ?? Guid.CreateVersion7();
        if (Crawlers.IsCrawler(http.Request.Headers.UserAgent))
            return TypedResults.Json(new SessionResponse(visitor, null, DateTime.UtcNow, [], false), DniJson.Default.SessionResponse);

        var plan = await lookups.PlanAsync(site, targets, url!.AbsolutePath, () => Places(body.Geo, http, zips, ip));
        var start = new SessionStart(site.SiteKey, sessionId, url!, referrer, site.Config.SourceRules ?? [], plan, NewVisitor: visitorId is null,
            ClientKey: CallMesh.Edge.ClientKeys.Of(ClientAddress(http)));
        var answer = await TransientFaults.AcrossClusterChangesAsync(() =>
            references.New<IVisitorGrain>(TenantKey.For(site.TenantId, visitor.ToString())).StartOrResume(start));
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Json(new SessionResponse(answer.VisitorId, answer.SessionId, answer.ExpiresAt,
            answer.Swaps.Select(s => new SwapResource(s.Target, s.Number, Rules.Display(s.Number), s.Location, s.Overflow, s.ResolvedBy)).ToList(),
            answer.IsTest), DniJson.Default.SessionResponse);
    }

    public static async Task<Results<Ok<HeartbeatResponse>, ValidationProblem, ProblemHttpResult>> Heartbeat(string sessionId, HttpContext http, GrainReferences references, DniLookups lookups)
    {
        if (await ReadBody(http, DniRequestJson.Default.HeartbeatRequest) is not { } body) return Malformed();
        var errors = new ValidationErrors();
        var siteKey = SiteKey(errors, http, body.SiteKey);
        var visitorId = OptionalGuid(errors, "visitorId", body.VisitorId);
        if (visitorId is null) errors.Add("visitorId", "is required.");
        if (!Guid.TryParse(sessionId, out var session)) errors.Add("sessionId", "must be a session id from POST /v1/dni/sessions.");
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());

        var site = await lookups.SiteAsync(siteKey!);
        if (site is null) return UnknownSite();
        // A page of another site's domains may not keep this site's numbers held (the script's heartbeats come from its pages).
        if (OriginProblem(http, site, null) is { } denied) return denied;
        AllowOrigin(http);
        var expiresAt = await references.New<IVisitorGrain>(TenantKey.For(site.TenantId, visitorId!.Value.ToString())).Heartbeat(session);
        return expiresAt is { } at
            ? TypedResults.Ok(new HeartbeatResponse(at))
            : Problems.Problem(StatusCodes.Status404NotFound, "unknown-session", "No such session for this visitor; start a new one.");
    }

    public static async Task<Results<Ok<AmpNumber>, ValidationProblem, ProblemHttpResult>> Amp(string? siteKey, string? target, string? visitorId, HttpContext http, GrainReferences references, DniLookups lookups)
    {
        var errors = new ValidationErrors();
        errors.Required("siteKey", siteKey);
        Rules.PhoneNumber(errors, "target", target, required: true);
        var visitor = OptionalGuid(errors, "visitorId", visitorId);
        if (errors.Any) return Problems.Invalid(errors.ToDictionary());
        var site = await lookups.SiteAsync(siteKey!);
        if (site is null) return UnknownSite();

        // AMP pages are served from the AMP cache; __amp_source_origin names the publisher's origin.
        var sourceOrigin = http.Request.Query["__amp_source_origin"].ToString();
        var page = Uri.TryCreate(sourceOrigin, UriKind.Absolute, out var origin) ? origin : new Uri($"https://{site.Config.Domains![0]}/");
        if (!AllowedHost(site, page.Host)) return Problems.Problem(StatusCodes.Status403Forbidden, "origin-not-allowed", "This page is not on the site's domains.");
        if (sourceOrigin.Length > 0) http.Response.Headers["AMP-Access-Control-Allow-Source-Origin"] = sourceOrigin;
        AllowOrigin(http);

        var plan = await lookups.PlanAsync(site, [target!], page.AbsolutePath, () => []);
        var answer = await references.New<IVisitorGrain>(TenantKey.For(site.TenantId, (visitor ?? Guid.CreateVersion7()).ToString()))
            .StartOrResume(new SessionStart(site.SiteKey, null, page, null, site.Config.SourceRules ?? [], plan, NewVisitor: visitor is null));
        var number = answer.Swaps.FirstOrDefault()?.Number ?? target!;
        return TypedResults.Ok(new AmpNumber(number, Rules.Display(number)));
    }

    /// <summary>
    /// Where the visitor may be, most trusted first: geo the page passed itself (a store-locator
    /// choice: coordinates, or a postal code's centroid), the CDN's geo headers (the gateway removes them unless
    /// a trusted proxy sent them), then the client address in the IP database.
    /// </summary>
    private static List<VisitorPlace> Places(GeoHint? geo, HttpContext http, ZipCentroids zips, IpGeolocation ip)
    {
        var places = new List<VisitorPlace>(3);
        if (geo is { Lat: { } lat, Lon: { } lon }) places.Add(new VisitorPlace(lat, lon, "geo"));
        else if (geo?.PostalCode is { } postal && zips.TryFind(postal, out var zipLat, out var zipLon)) places.Add(new VisitorPlace(zipLat, zipLon, "geo"));

        var headers = http.Request.Headers;
        static double? Coordinate(IHeaderDictionary headers, string a, string b, double limit) =>
            double.TryParse(headers[a].FirstOrDefault() ?? headers[b].FirstOrDefault(), System.Globalization.NumberStyles.Float,
                System.Globalization.CultureInfo.InvariantCulture, out var value) && Math.Abs(value) <= limit ? value : null;
        var cdnLat = Coordinate(headers, "cf-iplatitude", "CloudFront-Viewer-Latitude", 90);
        var cdnLon = Coordinate(headers, "cf-iplongitude", "CloudFront-Viewer-Longitude", 180);
        var cdnPostal = headers["cf-postal-code"].FirstOrDefault() ?? headers["CloudFront-Viewer-Postal-Code"].FirstOrDefault();
        if (cdnLat is { } cLat && cdnLon is { } cLon) places.Add(new VisitorPlace(cLat, cLon, "cdn-geo"));
        else if (cdnPostal is { } p && UsZip().IsMatch(p) && zips.TryFind(p, out var pLat, out var pLon)) places.Add(new VisitorPlace(pLat, pLon, "cdn-geo"));

        if (ClientAddress(http) is { } address && ip.TryLocate(address, out var ipLat, out var ipLon)) places.Add(new VisitorPlace(ipLat, ipLon, "ip-geo"));
        return places;
    }

    /// <summary>
    /// The visitor's address: the gateway sets X-Forwarded-For to the client it saw (itself believing
    /// X-Forwarded-For only from trusted proxies), so its last entry is the one to use — when the request shows the
    /// deployment's internal key, as the gateway's do. Without it the header is anyone's word, and the peer is the client.
    /// A deployment without an internal key believes the header, as before it had one.
    /// </summary>
    private static System.Net.IPAddress? ClientAddress(HttpContext http)
    {
        if (!InternalApi.FromGateway(http)) return http.Connection.RemoteIpAddress;
        var forwarded = http.Request.Headers["X-Forwarded-For"].ToString();
        var last = forwarded.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return last is not null && System.Net.IPAddress.TryParse(last, out var address) ? address : http.Connection.RemoteIpAddress;
    }

    private static async Task<T?> ReadBody<T>(HttpContext http, JsonTypeInfo<T> type) where T : class
    {
        if (http.Request.ContentLength > MaxBodyBytes) throw new BadHttpRequestException("The body is too large.", StatusCodes.Status413PayloadTooLarge);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = MaxBodyBytes;
        try
        {
            return await JsonSerializer.DeserializeAsync(http.Request.Body, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The page must be on one of the site's domains, and so must the browser's Origin when it sends one.</summary>
    /// <summary>
    /// The body's site key, which must be the query's too: the gateway limits each site's requests by the query's key
    /// before any body is read, so a request naming one site there and another here would spend a victim's budget, or
    /// dodge its own (the script sends both).
    /// </summary>
    private static string? SiteKey(ValidationErrors errors, HttpContext http, string? bodyKey)
    {
        var siteKey = errors.Required("siteKey", bodyKey);
        if (siteKey is not null && http.Request.Query["siteKey"].ToString() != siteKey)
            errors.Add("siteKey", "must also be the request's siteKey query parameter (the swap script sends both).");
        return siteKey;
    }

    /// <summary>
    /// The page (when given) and the browser's Origin must be on the site's domains. A request without Origin comes from no
    /// browser (browsers send it with every POST), and whatever sends it could as well forge one: it is judged by the page.
    /// </summary>
    private static ProblemHttpResult? OriginProblem(HttpContext http, SiteSnapshot site, Uri? url)
    {
        var origin = http.Request.Headers.Origin.ToString();
        var originHost = Uri.TryCreate(origin, UriKind.Absolute, out var o) ? o.Host : null;
        if ((url is not null && !AllowedHost(site, url.Host)) || (origin.Length > 0 && (originHost is null || !AllowedHost(site, originHost))))
            return Problems.Problem(StatusCodes.Status403Forbidden, "origin-not-allowed", "This page is not on the site's domains.");
        return null;
    }

    private static bool AllowedHost(SiteSnapshot site, string host) =>
        site.Config.Domains!.Any(domain => SourceClassifier.HostMatches(host, domain));

    private static void AllowOrigin(HttpContext http)
    {
        if (http.Request.Headers.Origin.ToString() is { Length: > 0 } origin) http.Response.Headers.AccessControlAllowOrigin = origin;
        http.Response.Headers.Vary = "Origin";
    }

    private static Uri? AbsoluteHttpUrl(ValidationErrors errors, string field, string? value, bool required)
    {
        if (string.IsNullOrEmpty(value))
        {
            if (required) errors.Add(field, "is required.");
            return null;
        }
        if (value.Length <= 2048 && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
        errors.Add(field, "must be an absolute http(s) URL of at most 2048 characters.");
        return null;
    }

    private static Guid? OptionalGuid(ValidationErrors errors, string field, string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        if (Guid.TryParse(value, out var id)) return id;
        errors.Add(field, "must be an id this API gave out.");
        return null;
    }

    private static ProblemHttpResult Malformed() =>
        Problems.Problem(StatusCodes.Status400BadRequest, "malformed-request", "The body must be a JSON object.");

    private static ProblemHttpResult UnknownSite() =>
        Problems.Problem(StatusCodes.Status404NotFound, "unknown-site-key", "No site has this key.");
}

/// <summary>
/// The DNI bodies' JSON, generated at compile time (web defaults: camelCase, case-insensitive reading). Every page view
/// of every brand site comes through here, and generated code writes an answer without the reflection-built path.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DniApi.SessionResponse))]
internal sealed partial class DniJson : JsonSerializerContext;

/// <summary>The DNI requests' JSON: every string checked for NUL (<see cref="StorableText"/>), which answers need not pay for.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, Converters = [typeof(StorableText.JsonConverter)])]
[JsonSerializable(typeof(DniApi.SessionRequest))]
[JsonSerializable(typeof(DniApi.HeartbeatRequest))]
internal sealed partial class DniRequestJson : JsonSerializerContext;
