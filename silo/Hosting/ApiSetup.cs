using CallMesh.Common;
using CallMesh.Dni;
using CallMesh.Identity;
using CallMesh.Numbers;
using CallMesh.Pools;
using CallMesh.Silo.Api;
using CallMesh.Silo.Database;
using CallMesh.Silo.Geo;
using Npgsql;
using Orleans.Runtime;

namespace CallMesh.Silo.Hosting;

public static class ApiSetup
{
    public static IServiceCollection AddCallMeshApi(this IServiceCollection services, SiloSettings settings, IConfiguration configuration)
    {
        services.AddSingleton<AuditLog>();
        services.AddSingleton<DniLookups>();
        services.AddSingleton<SiteLimits>();
        services.AddSingleton<WebhookLimits>();
        services.AddSingleton<ZipCentroids>();
        services.AddSingleton<IpGeolocation>();
        services.AddSingleton<CallMesh.Silo.Carriers.CarrierAccounts>();
        services.AddSingleton<ApiKeys>();
        services.AddHostedService<CallMesh.Silo.History.JobWatcher>();
        services.AddSingleton(new CallMesh.Silo.History.HistoryOptions(
            TimeSpan.FromMinutes(configuration.GetValue("History:MaintenanceMinutes", 60)), configuration.GetValue<int?>("History:DefaultCallMonths")));
        services.AddSingleton<CallMesh.Silo.History.Retention>();
        services.AddSingleton<CallMesh.Silo.History.Erasure>();
        services.AddHostedService<CallMesh.Silo.History.HistoryMaintenance>();
        // Conversions out: destinations, the outbox's dispatchers (grains) and the watcher that wakes them.
        services.AddSingleton(CallMesh.Outbound.OutboundOptions.From(configuration.GetSection("Outbound")));
        services.AddSingleton<CallMesh.Outbound.OutboundAddresses>();
        services.AddSingleton(CallMesh.Outbound.SmtpOptions.From(configuration));
        services.AddSingleton<CallMesh.Outbound.EmailAlerts>();
        services.AddSingleton<CallMesh.Outbound.OutboundSender>();
        services.AddSingleton<CallMesh.Outbound.DestinationStore>();
        services.AddSingleton<CallMesh.Outbound.OutboxStore>();
        services.AddSingleton<CallMesh.Outbound.ConversionFiles>();
        services.AddHostedService<CallMesh.Silo.Outbound.OutboxWatcher>();
        // The call path: routing from memory, deliveries journaled before they are answered. Registered after Orleans, so
        // at shutdown the journal hands over what it can before the silo leaves.
        services.AddSingleton(new CallMesh.Silo.Calls.CallJournalOptions(settings.JournalPath, settings.JournalSegmentBytes));
        services.AddSingleton<CallMesh.Silo.Calls.RoutingSnapshot>();
        services.AddHostedService(sp => sp.GetRequiredService<CallMesh.Silo.Calls.RoutingSnapshot>());
        services.AddSingleton<CallMesh.Silo.Calls.InboundRouter>();
        services.AddSingleton<CallMesh.Silo.Calls.CallJournal>();
        services.AddHostedService(sp => sp.GetRequiredService<CallMesh.Silo.Calls.CallJournal>());
        services.AddCallMeshJwt(configuration)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(JwtSetup.ApiKeyScheme, null);
        services.AddAuthorization(o => o.DefaultPolicy = JwtSetup.UserPolicy);   // what RequireAuthorization() asks
        // Unreadable bodies (malformed JSON, wrong types) throw, so they get a problem with the reason.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Clients reach the API through the gateway: do not advertise a silo's own address.
        services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Servers = [];
            return Task.CompletedTask;
        }));
        services.AddHealthChecks()
            .AddCheck<ClusterMembershipCheck>("cluster", tags: [HealthApi.ReadyTag])
            .AddCheck<ShutdownCheck>("shutdown", tags: [HealthApi.ReadyTag])
            .AddCheck<DatabaseCheck>("database", tags: [HealthApi.ReadyTag]);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
            o.SerializerOptions.Converters.Add(new StorableText.JsonConverter());
        });
        return services;
    }

    /// <summary>
    /// The database services grains use (the silo's and the tests' in-process silos alike). Register them
    /// before Orleans: hosted services stop in reverse order, so the DNI journal outlives every grain.
    /// </summary>
    public static IServiceCollection AddCallMeshData(this IServiceCollection services, string postgres)
    {
        // Nothing here leaves session state on a connection (no SET, temp tables or session locks), so a connection
        // goes back to the pool as it is: no reset statements ahead of every DNI journal batch. The statements a call
        // runs (a handful, thousands of times) are prepared on each pooled connection once they repeat, so PostgreSQL
        // parses and plans each once per connection, not once per call. A few dozen connections keep two cores busy; more
        // only multiply that planning: each ANALYZE of a call partition makes every connection load its catalog entries
        // again (7 ms for the caller's history, against 0.4 ms warm), and at 100 connections that cost 0.6 ms a call.
        services.AddSingleton(_ => DataSource("callmesh", new NpgsqlConnectionStringBuilder(postgres)
        {
            NoResetOnClose = true, MaxAutoPrepare = 64, AutoPrepareMinUsages = 2, MaxPoolSize = 24,
        }));
        // Reports get their own pool, planned per call and without parallel workers. A prepared report soon runs
        // PostgreSQL's generic plan, which cannot see that a brand-wide 90-day range reads most of the table (it walked
        // the primary key in 60 ms); and starting parallel workers on a busy 2-core node cost more than they saved
        // (63 ms against 34 ms for 90,000 day rows). Reports are few, so planning each costs nothing worth keeping.
        services.AddKeyedSingleton(CallMesh.Reports.RollupStore.DataSourceKey, (_, _) => DataSource("callmesh-reports",
            new NpgsqlConnectionStringBuilder(postgres)
            {
                NoResetOnClose = true, MaxAutoPrepare = 0, MaxPoolSize = 20, Options = "-c max_parallel_workers_per_gather=0",
            }));
        services.AddKeyedSingleton(CallMesh.Outbound.OutboxStore.DataSourceKey, (_, _) => DataSource("callmesh-outbox",
            new NpgsqlConnectionStringBuilder(postgres) { NoResetOnClose = true, MaxAutoPrepare = 0, MaxPoolSize = 10 }));
        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<CallMeshMetrics>();
        services.AddSingleton<NumberDirectory>();
        services.AddSingleton<PoolHealthQuery>();
        services.AddSingleton<DniStore>();
        services.AddSingleton<DniJournal>();
        services.AddSingleton<GrainReferences>();
        services.AddSingleton<CallMesh.Calls.CallStore>();
        services.AddSingleton<CallMesh.Calls.CallWriter>();
        services.AddSingleton<CallMesh.Calls.CallStartReader>();
        services.AddSingleton<CallMesh.Reports.SpendStore>();
        services.AddSingleton<CallMesh.Reports.RollupStore>();
        services.AddSingleton<CallMesh.Reports.AnsweringQuery>();
        services.AddSingleton<CallMesh.Reports.RollupRebuilder>();
        services.AddSingleton<CallMesh.Jobs.JobStore>();
        services.AddHostedService(sp => sp.GetRequiredService<DniJournal>());
        services.AddHostedService(sp => sp.GetRequiredService<CallMesh.Calls.CallWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<CallMesh.Calls.CallStartReader>());
        return services;
    }

    /// <summary>
    /// Statements are traced only inside a traced request (or a span behind one): the journals' and watchers' own loops would
    /// otherwise start a trace of their own for every statement.
    /// </summary>
    private static NpgsqlDataSource DataSource(string name, NpgsqlConnectionStringBuilder connection) =>
        new NpgsqlDataSourceBuilder(connection.ConnectionString) { Name = name }   // the pool's name in metrics
            .ConfigureTracing(t => t
                .ConfigureCommandFilter(_ => System.Diagnostics.Activity.Current is not null)
                .ConfigureBatchFilter(_ => System.Diagnostics.Activity.Current is not null))
            .Build();

    /// <summary>
    /// A read whose grain was on a silo that is leaving (a rolling restart) is asked again once the grain has moved,
    /// instead of answering 503: a GET changes nothing, so running it twice is safe.
    /// </summary>
    private static async Task RetryReadsAcrossClusterChanges(HttpContext http, Func<Task> next)
    {
        if (!HttpMethods.IsGet(http.Request.Method))
        {
            await next();
            return;
        }
        await TransientFaults.AcrossClusterChangesAsync(async () =>
        {
            if (http.Response.HasStarted) throw new InvalidOperationException("A read that started answering cannot be run again.");
            await next();
            return true;
        });
    }

    public static WebApplication UseCallMeshApi(this WebApplication app)
    {
        // ProblemExceptionHandler answers what a client or an outage causes; the rest is a logged 500.
        app.UseExceptionHandler();
        app.Use(StorableText.RefuseNulInQuery);
        app.Use(RetryReadsAcrossClusterChanges);
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthApi();
        app.MapTenantsApi();
        app.MapLocationsApi();
        app.MapNumbersApi();
        app.MapPoolsApi();
        app.MapSitesApi();
        app.MapStaticNumbersApi();
        app.MapNapApi();
        app.MapDniApi();
        app.MapVoiceApi();
        app.MapInternalApi();
        app.MapCallsApi();
        app.MapApiKeysApi();
        app.MapReportsApi();
        app.MapJobsApi();
        app.MapDestinationsApi();
        app.MapConversionExportsApi();
        app.MapHistoryApi();
        app.MapSpendApi();
        return app;
    }
}
