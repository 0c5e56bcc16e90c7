using Npgsql;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// Where this silo lives and what it talks to. Read from appsettings.json and from
/// environment variables prefixed CALLMESH_ (CALLMESH_POSTGRES, CALLMESH_CLUSTER_ID, ...).
/// </summary>
public sealed record SiloSettings
{
    public required string Postgres { get; init; }
    public string ClusterId { get; init; } = "callmesh-local";
    // Grain state is keyed by ServiceId: it must stay the same for the life of a deployment.
    public string ServiceId { get; init; } = "callmesh";
    public int SiloPort { get; init; } = 11111;
    /// <summary>Orleans' port for external clients: 0, none (the silo's HTTP API is the only way in; nothing else may call grains).</summary>
    public int OrleansGatewayPort { get; init; }
    public int HttpPort { get; init; } = 5100;
    public string AdvertisedIp { get; init; } = "127.0.0.1";
    /// <summary>The one address the HTTP and Orleans ports listen on (`./callmesh up`: loopback); unset, every address (a pod's).</summary>
    public string? ListenAddress { get; init; }
    public string? SiloName { get; init; }
    public bool MigrateOnStart { get; init; } = true;
    /// <summary>This silo's own directory for its call journal and routing snapshot; it must outlive the process (a volume).</summary>
    public string? JournalDirectory { get; init; }
    /// <summary>The size of each journal segment file (zero-filled ahead of need; deleted once all it holds is written to PostgreSQL).</summary>
    public long JournalSegmentBytes { get; init; } = 8 * 1024 * 1024;
    /// <summary>Where the silo-to-silo TLS certificate is (<see cref="SiloTls"/>); unset, silos talk in the clear (tests in one process).</summary>
    public string? TlsDirectory { get; init; }
    /// <summary>The certificate that encrypts Data Protection's key ring (<see cref="DataProtectionSetup"/>).</summary>
    public string? DataProtectionDirectory { get; init; }

    /// <summary>How long a stopping silo keeps serving while reporting unready, so the gateway's probes take it out first.</summary>
    public TimeSpan ShutdownDrain { get; init; } = TimeSpan.FromSeconds(5);

    public string JournalPath => JournalDirectory ?? Path.Combine(AppContext.BaseDirectory, "journal", SiloName ?? $"silo-{HttpPort}");

    public static SiloSettings From(IConfiguration configuration)
    {
        var postgres = configuration["POSTGRES"];
        if (string.IsNullOrWhiteSpace(postgres))
            throw new InvalidOperationException("Set CALLMESH_POSTGRES (or \"Postgres\" in appsettings.json) to a PostgreSQL connection string.");
        var defaults = new SiloSettings { Postgres = postgres };
        return new SiloSettings
        {
            Postgres = postgres,
            ClusterId = configuration["CLUSTER_ID"] ?? defaults.ClusterId,
            ServiceId = configuration["SERVICE_ID"] ?? defaults.ServiceId,
            SiloPort = configuration.GetValue("SILO_PORT", defaults.SiloPort),
            OrleansGatewayPort = configuration.GetValue("ORLEANS_GATEWAY_PORT", defaults.OrleansGatewayPort),
            HttpPort = configuration.GetValue("HTTP_PORT", defaults.HttpPort),
            AdvertisedIp = configuration["ADVERTISED_IP"] ?? defaults.AdvertisedIp,
            ListenAddress = configuration["LISTEN_ADDRESS"] is { Length: > 0 } listen ? listen : null,
            SiloName = configuration["SILO_NAME"],
            MigrateOnStart = configuration.GetValue("MIGRATE_ON_START", defaults.MigrateOnStart),
            JournalDirectory = configuration["JOURNAL_DIR"],
            JournalSegmentBytes = configuration.GetValue("JOURNAL_SEGMENT_BYTES", defaults.JournalSegmentBytes),
            TlsDirectory = configuration["SILO_TLS_DIR"] is { Length: > 0 } tls ? tls : null,
            DataProtectionDirectory = configuration["DATA_PROTECTION_DIR"] is { Length: > 0 } keys ? keys : null,
            ShutdownDrain = TimeSpan.FromSeconds(configuration.GetValue("SHUTDOWN_DRAIN_SECONDS", defaults.ShutdownDrain.TotalSeconds)),
        };
    }

    /// <summary>The Orleans providers find their query table through search_path (contract §1.1).</summary>
    public string OrleansConnectionString => WithSearchPath(Postgres, "orleans");

    public static string WithSearchPath(string connectionString, string schema) =>
        new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema }.ConnectionString;
}
