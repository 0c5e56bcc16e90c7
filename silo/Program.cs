using CallMesh.Identity;
using CallMesh.Silo.Database;
using CallMesh.Silo.Demo;
using CallMesh.Silo.Hosting;
using CallMesh.Telemetry;

// `CallMesh.Silo migrate`, `token`, `seed-demo`, `silo-tls` and `data-protection-cert` are tools of ./callmesh; no argument runs the silo.
switch (args.FirstOrDefault())
{
    case "migrate":
        await Migrator.ApplyAsync(SiloSettings.From(Configuration()).Postgres, Console.WriteLine);
        return 0;
    case "token":
        return DevTokens.RunCommand(args[1..]);
    case "seed-demo":
        return await DemoSeeder.RunAsync(args[1..]);
    case "silo-tls":
        return Certificates.WriteSelfSigned(args[1], "callmesh-silo");
    case "data-protection-cert":
        return Certificates.WriteSelfSigned(args[1], "callmesh-data-protection", rsa: true);
}

// Content root = the app's own folder, so appsettings.json is found whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddEnvironmentVariables("CALLMESH_");
builder.AddCallMeshTelemetry("callmesh-silo");
var settings = SiloSettings.From(builder.Configuration);
if (settings.MigrateOnStart) await Migrator.ApplyAsync(settings.Postgres);

builder.WebHost.ConfigureKestrel(k =>
{
    k.ListenWithManagementPort(settings.ListenAddress, settings.HttpPort, builder.Configuration);
    k.Limits.MaxRequestBodySize = 1024 * 1024;
});
builder.Host.ConfigureHostOptions(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
builder.Services.AddCallMeshData(settings.Postgres);   // before Orleans, so the journal stops after the grains
builder.Services.AddCallMeshDataProtection(settings, builder.Configuration);   // the key ring is loaded before any grain here runs
builder.UseOrleans(silo => silo.UseCallMeshCluster(settings, builder.Configuration));
builder.Services.AddCallMeshApi(settings, builder.Configuration);

var app = builder.Build();
// A rolling restart fails no request: on SIGTERM the silo first reports unready (ShutdownCheck) and goes on serving
// until the gateway's probes, every 2 s, have taken it out of rotation; only then do Kestrel and Orleans stop.
app.Lifetime.ApplicationStopping.Register(() => Thread.Sleep(settings.ShutdownDrain));
app.UseCallMeshApi();
app.MapCallMeshMetrics();
await app.RunAsync();
return 0;

static IConfiguration Configuration() => new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: true)
    .AddEnvironmentVariables("CALLMESH_")
    .Build();
