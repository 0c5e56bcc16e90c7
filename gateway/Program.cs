using CallMesh.Gateway.Calls;
using CallMesh.Gateway.Dashboard;
using CallMesh.Gateway.Dni;
using CallMesh.Gateway.Identity;
using CallMesh.Gateway.Proxy;
using CallMesh.Identity;
using CallMesh.Telemetry;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;

// Content root = the app's own folder, so appsettings.json is found whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddEnvironmentVariables("CALLMESH_");
builder.AddCallMeshTelemetry("callmesh-gateway");
var port = builder.Configuration.GetValue("GATEWAY_PORT", 8080);
// `./callmesh up` listens on loopback only (CALLMESH_LISTEN_ADDRESS); in a pod, every address.
var listen = builder.Configuration["LISTEN_ADDRESS"];
builder.WebHost.ConfigureKestrel(k =>
{
    k.ListenWithManagementPort(listen, port, builder.Configuration);
    if (GatewayTls.Enabled(builder.Configuration)) k.ListenHttps(listen, builder.Configuration);
    k.Limits.MaxRequestBodySize = 1024 * 1024;
    k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
});

builder.Services.AddCallMeshJwt(builder.Configuration)
    .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyPassThrough>(JwtSetup.ApiKeyScheme, null)
    .AddDashboardSignIn(builder.Configuration);
builder.Services.AddAuthorization(o => o.AddPolicy(ProxyConfig.UserApiPolicy, JwtSetup.UserPolicy));
builder.Services.AddProblemDetails();
builder.Services.AddEdgeProtection(builder.Configuration);
builder.Services.AddGatewayTls(builder.Configuration);
builder.Services.AddResponseCompression(o => o.EnableForHttps = true);
builder.Services.AddSingleton<Yarp.ReverseProxy.Forwarder.IForwarderHttpClientFactory, SmallBodiesInOneWrite>();
builder.Services.AddHttpClient();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<FallbackAnswers>();
builder.Services.AddSingleton<ShutdownDrain>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<FallbackAnswers>());
builder.Services.AddSingleton<IWebhookFallback>(sp => sp.GetRequiredService<FallbackAnswers>());
var proxy = builder.Services.AddReverseProxy()
    .LoadFromMemory(ProxyConfig.Routes, [ProxyConfig.SiloClusterFrom(builder.Configuration)]);
if (builder.Configuration.GetValue<bool>("SILOS_DNS"))
    proxy.AddDnsDestinationResolver(o => o.RefreshPeriod = TimeSpan.FromSeconds(5));
// The silos believe the client address this gateway forwards only from a request that shows the deployment's internal
// key (set here on every proxied request, replacing whatever a client sent): a pod that reaches a silo cannot pick one.
if (builder.Configuration["INTERNAL_KEY"] is { Length: > 0 } internalKey)
    proxy.AddTransforms(t => t.AddRequestHeader(FallbackAnswers.KeyHeader, internalKey, append: false));

var app = builder.Build();
ShutdownDrain.Use(app);
app.UseEdgeProtection();
app.UseGatewayTls();
// A DNI answer is a few hundred bytes on the hottest path: brotli saved 186 of its 456 bytes for about 5 µs of CPU,
// and made it chunked. The script, the dashboard and the tenant APIs are compressed.
app.UseWhen(http => !EdgeProtection.IsDniPath(http), branch => branch.UseResponseCompression());
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDashboardSessions();
app.UseAuthentication();
app.UseAuthorization();
app.UseTenantLimit();   // after authorization: only there is a request's user known (no default scheme)

app.MapCallMeshMetrics();
app.MapSwapScript();
app.Services.GetRequiredService<FallbackAnswers>().Map(app);
app.MapDashboard();
app.MapDashboardSignIn();
app.MapGet("/health/live", () => Results.Ok(new { status = "Healthy" }));
// Ready while at least one silo passes its readiness probe, or, with none, while the gateway can answer the carrier's
// fail-safe URL from its own routing copy (Degraded): taking it out of the load balancer then would silence every call.
app.MapGet("/health/ready", (IProxyStateLookup state, FallbackAnswers fallback, ShutdownDrain drain) =>
{
    if (drain.Draining) return Results.Json(new { status = "Draining" }, statusCode: StatusCodes.Status503ServiceUnavailable);
    var healthy = state.TryGetCluster(ProxyConfig.SiloCluster, out var cluster)
        ? cluster.Destinations.Values.Count(d => d.Health.Active == DestinationHealth.Healthy)
        : 0;
    var (failSafeRoutingAt, failSafeRoutingVersion) = (fallback.RoutingLoadedAt, fallback.RoutingVersion);
    return healthy > 0 ? Results.Ok(new { status = "Healthy", healthySilos = healthy, failSafeRoutingAt, failSafeRoutingVersion })
        : failSafeRoutingAt is not null ? Results.Ok(new { status = "Degraded", healthySilos = 0, failSafeRoutingAt, failSafeRoutingVersion })
        : Results.Json(new { status = "Unhealthy", healthySilos = 0, failSafeRoutingAt, failSafeRoutingVersion },
            statusCode: StatusCodes.Status503ServiceUnavailable);
});

app.MapReverseProxy(pipeline =>
{
    pipeline.Use(RetryOnSiloFailure.Invoke);
    pipeline.UseLoadBalancing();
    pipeline.UsePassiveHealthChecks();
});
app.Run();
