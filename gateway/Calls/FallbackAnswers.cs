using System.Text.Json;
using CallMesh.Calls;
using CallMesh.Carriers;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace CallMesh.Gateway.Calls;

/// <summary>
/// The carrier's fail-safe URL (Twilio's VoiceFallbackUrl): <c>POST /v1/voice/{carrier}/fallback</c>, answered by the
/// gateway alone, so a call rings its location even when every silo or the database is down. The gateway keeps its own
/// copy of the silos' routing snapshot (fetched every 15 s, CALLMESH_FAILSAFE_REFRESH_SECONDS, with the internal key, kept on disk for a restart with no
/// silo up) and routes with the same <see cref="CallRouter"/>. It knows no lease holders: a number of a brand-wide pool
/// rings the tenant's fail-safe number. Each call it answers is appended to its own file (fsync before the answer) and
/// handed to a silo to record as soon as one takes it.
/// </summary>
public sealed class FallbackAnswers(IProxyStateLookup proxy, IHttpClientFactory clients, IConfiguration configuration,
    TimeProvider clock, ILogger<FallbackAnswers> logger) : BackgroundService, Proxy.IWebhookFallback
{
    public const string KeyHeader = "X-CallMesh-Internal-Key";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SemaphoreSlim _fileLock = new(1);
    private volatile RoutingData? _routing;

    private string Directory => configuration["GATEWAY_STATE_DIR"] is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "state");
    private string SnapshotPath => Path.Combine(Directory, "routing-snapshot.json");
    private string CallsPath => Path.Combine(Directory, "fallback-calls.jsonl");
    private string? InternalKey => configuration["INTERNAL_KEY"] is { Length: > 0 } key ? key : null;

    /// <summary>When the copy was made (for readiness and tests); null: the gateway has none.</summary>
    public DateTime? RoutingLoadedAt => _routing?.LoadedAt;

    /// <summary>The routing version of that copy (callmesh.routing_version when a silo read it).</summary>
    public long? RoutingVersion => _routing?.Version;

    public sealed record FallbackCall(string TenantId, string CallId, InboundCall Start, CallRouting Routing);

    public void Map(IEndpointRouteBuilder routes) =>
        routes.MapPost("/v1/voice/{carrier:regex(^(twilio|signalwire)$)}/fallback", Answer).DisableAntiforgery().ExcludeFromDescription();

    private async Task<IResult> Answer(string carrier, HttpContext http)
    {
        var (webhook, problem) = await VerifyAsync(http);
        if (problem is not null) return problem;
        var (routing, account, form, publicBase) = webhook!.Value;
        if (form["CallSid"].ToString() is not { Length: > 0 and <= 64 } callSid || form["To"].ToString() is not { Length: > 0 } to
            || form["From"].ToString() is not { Length: > 0 } from)
            return ProblemResponses.Result(StatusCodes.Status400BadRequest, "validation", "CallSid, From and To are required.");

        var inbound = new InboundCall(account.AccountSid, from, to, Microseconds(clock.GetUtcNow().UtcDateTime));
        var answer = Route(routing, account, inbound, open: null);
        await AppendAsync(new FallbackCall(account.TenantId, callSid, inbound, answer));
        logger.LogWarning("Answered call {CallSid} from the fail-safe URL: {Route}", callSid, answer.Route);
        return Results.Text(TwiML.Answer(answer, $"{publicBase}/v1/voice/{carrier}"), TwiML.ContentType);
    }

    /// <summary>
    /// A ring step's dial result that no silo could take (all down): answered here from the routing copy as a silo would
    /// (the next step, voicemail or a goodbye), so a caller whose first step rang out during the outage does not hear the
    /// carrier's error. The step's result itself is not recorded (the call's start is, by the fail-safe URL or the silo).
    /// False when the request is not a signed dial result this gateway can answer: the caller then gets the proxy's error.
    /// </summary>
    public async Task<bool> TryAnswerAsync(HttpContext http)
    {
        if (http.Response.HasStarted) return false;
        var segments = http.Request.Path.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (segments is not ["v1", "voice", "twilio" or "signalwire", "dial-action"] || !http.Request.HasFormContentType) return false;
        if (http.Request.Body.CanSeek) http.Request.Body.Position = 0;
        var (webhook, problem) = await VerifyAsync(http);
        if (problem is not null) return false;
        var (routing, account, form, publicBase) = webhook!.Value;
        var status = form["DialCallStatus"].ToString();
        var step = TwiML.StepOf(http.Request.Query["step"]) ?? 1;
        var unanswered = TwiML.Unanswered(status, bool.TryParse(form["DialBridged"], out var bridged) ? bridged : null);
        string twiml;
        if (unanswered && form["From"].ToString() is { Length: > 0 } from && form["To"].ToString() is { Length: > 0 } to)
        {
            var answer = Route(routing, account, new InboundCall(account.AccountSid, from, to, clock.GetUtcNow().UtcDateTime),
                open: http.Request.Query["route"] == "open");
            twiml = TwiML.AfterUnanswered(answer, step, $"{publicBase}/v1/voice/{segments[2]}");
        }
        else twiml = TwiML.HangUp();
        logger.LogWarning("Answered the dial result of call {CallSid} (step {Step}, {Status}) from the routing copy: no silo took it",
            form["CallSid"].ToString(), step, status);
        http.Features.Set<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>(null);
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = TwiML.ContentType;
        await http.Response.WriteAsync(twiml);
        return true;
    }

    /// <summary>Where a call rings by the routing copy: the number's location (a pool number's: the tenant's fail-safe).</summary>
    private static CallRouting Route(RoutingData routing, CarrierAccount account, InboundCall inbound, bool? open)
    {
        var number = routing.Numbers.GetValueOrDefault(inbound.To) is { } n && n.TenantId == account.TenantId ? n : null;
        var locationId = number?.Use is "pool" or "static" or "overflow" ? number.LocationId : null;
        var tenant = routing.Tenants.GetValueOrDefault(account.TenantId);
        var location = locationId is null ? null : routing.Locations.GetValueOrDefault($"{account.TenantId}/{locationId}");
        var blocked = routing.Blocked.Contains($"{account.TenantId}/{inbound.From}");
        return open is { } isOpen
            ? CallRouter.Route(inbound, tenant, location, isOpen, blocked)
            : CallRouter.Route(inbound, tenant, location, blocked);
    }

    /// <summary>Reads the form and checks its signature against the account's token in the routing copy.</summary>
    private async Task<((RoutingData Routing, CarrierAccount Account, IFormCollection Form, string PublicBase)?, IResult?)> VerifyAsync(HttpContext http)
    {
        if (!http.Request.HasFormContentType)
            return (null, ProblemResponses.Result(StatusCodes.Status415UnsupportedMediaType, "malformed-request", "Carrier webhooks are application/x-www-form-urlencoded."));
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = 16 * 1024;
        IFormCollection form;
        try { form = await http.Request.ReadFormAsync(); }
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or System.Text.DecoderFallbackException)
        {
            return (null, ProblemResponses.Result(StatusCodes.Status400BadRequest, "malformed-request", "The request could not be read.", e.Message));
        }

        var routing = _routing;
        var forbidden = ProblemResponses.Result(StatusCodes.Status403Forbidden, "invalid-signature", "The webhook's signature does not match.");
        if (routing?.Accounts.GetValueOrDefault(form["AccountSid"].ToString()) is not { } account) return (null, forbidden);
        var publicBase = configuration["PUBLIC_BASE_URL"]?.TrimEnd('/') ?? $"{http.Request.Scheme}://{http.Request.Host}";
        var url = publicBase + (http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? $"{http.Request.Path}{http.Request.QueryString}");
        var parameters = form.SelectMany(f => f.Value.Select(v => new KeyValuePair<string, string>(f.Key, v ?? "")));
        if (!TwilioSignature.IsValid(account.AuthToken, url, parameters, http.Request.Headers["X-Twilio-Signature"])) return (null, forbidden);
        return ((routing, account, form, publicBase), null);
    }

    private async Task AppendAsync(FallbackCall call)
    {
        await _fileLock.WaitAsync();
        try
        {
            await using var file = new FileStream(CallsPath, FileMode.Append, FileAccess.Write);
            await file.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(call, Json));
            file.WriteByte((byte)'\n');
            file.Flush(flushToDisk: true);
        }
        finally
        {
            _fileLock.Release();
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            if (File.Exists(SnapshotPath)) _routing = JsonSerializer.Deserialize<RoutingData>(File.ReadAllBytes(SnapshotPath), Json);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            logger.LogWarning("Fail-safe routing: the copy on disk is unreadable ({Reason})", e.Message);
        }
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        if (InternalKey is null)
        {
            logger.LogWarning("CALLMESH_INTERNAL_KEY is not set: the fail-safe URL answers only from a copy already on disk");
            return;
        }
        while (!stopping.IsCancellationRequested)
        {
            await RefreshAsync(stopping);
            await HandOverCallsAsync(stopping);
            var period = TimeSpan.FromSeconds(configuration.GetValue("FAILSAFE_REFRESH_SECONDS", 15));
            try { await Task.Delay(_routing is null ? TimeSpan.FromSeconds(1) : period, clock, stopping); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Asks the silos in turn for their snapshot; keeps the last one when none answers.</summary>
    private async Task RefreshAsync(CancellationToken stopping)
    {
        foreach (var silo in Silos())
        {
            try
            {
                using var response = await Send(HttpMethod.Get, silo, "/internal/routing", null, stopping,
                    _routing is { } known ? $"\"{known.Version}\"" : null);
                if (response.StatusCode == System.Net.HttpStatusCode.NotModified) return;
                if (!response.IsSuccessStatusCode) continue;
                var bytes = await response.Content.ReadAsByteArrayAsync(stopping);
                _routing = JsonSerializer.Deserialize<RoutingData>(bytes, Json);
                var temporary = SnapshotPath + ".tmp";
                var mode = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) mode.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;   // auth tokens
                await using (var file = new FileStream(temporary, mode)) await file.WriteAsync(bytes, stopping);
                File.Move(temporary, SnapshotPath, overwrite: true);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or IOException && !stopping.IsCancellationRequested)
            {
                logger.LogDebug("Fail-safe routing: {Silo} did not answer ({Reason})", silo, e.Message);
            }
        }
    }

    /// <summary>Sends the calls answered here to a silo, which journals and records them; the file is emptied once one took them.</summary>
    private async Task HandOverCallsAsync(CancellationToken stopping)
    {
        if (!File.Exists(CallsPath)) return;
        await _fileLock.WaitAsync(stopping);
        try
        {
            var calls = File.ReadLines(CallsPath).Select(Parse).OfType<FallbackCall>().ToList();
            foreach (var silo in Silos())
            {
                try
                {
                    using var response = await Send(HttpMethod.Post, silo, "/internal/fallback-calls", JsonContent.Create(calls, options: Json), stopping);
                    if (!response.IsSuccessStatusCode) continue;
                    File.Delete(CallsPath);
                    logger.LogInformation("Handed {Count} fail-safe calls to {Silo} to record", calls.Count, silo);
                    return;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stopping.IsCancellationRequested) { }
            }
        }
        finally
        {
            _fileLock.Release();
        }
    }

    private static FallbackCall? Parse(string line)
    {
        try { return JsonSerializer.Deserialize<FallbackCall>(line, Json); }
        catch (JsonException) { return null; }   // torn by a crash mid-write: never answered
    }

    private IEnumerable<string> Silos() =>
        proxy.TryGetCluster(Proxy.ProxyConfig.SiloCluster, out var cluster)
            ? cluster.Destinations.Values.OrderByDescending(d => d.Health.Active == DestinationHealth.Healthy).Select(d => d.Model.Config.Address)
            : [];

    private async Task<HttpResponseMessage> Send(HttpMethod method, string silo, string path, HttpContent? content, CancellationToken stopping,
        string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(method, silo.TrimEnd('/') + path) { Content = content };
        request.Headers.Add(KeyHeader, InternalKey);
        if (ifNoneMatch is not null) request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        patience.CancelAfter(TimeSpan.FromSeconds(5));
        return await clients.CreateClient(nameof(FallbackAnswers)).SendAsync(request, patience.Token);
    }

    /// <summary>PostgreSQL keeps microseconds, as the silo's own answers do.</summary>
    private static DateTime Microseconds(DateTime at) => new(at.Ticks - at.Ticks % 10, DateTimeKind.Utc);
}
