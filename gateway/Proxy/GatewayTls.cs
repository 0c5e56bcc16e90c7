using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.HttpsPolicy;

namespace CallMesh.Gateway.Proxy;

/// <summary>
/// HTTPS at the gateway itself (docs/security.md#in-transit): with CALLMESH_TLS_DIR (tls.crt and tls.key, as cert-manager
/// writes a Secret) it serves TLS on CALLMESH_HTTPS_PORT, sends HSTS on every HTTPS answer, and redirects plain HTTP
/// there, but for the probes and metrics. TLS ends here rather than at an Ingress so the load balancer stays a layer-4 hop
/// and the gateway keeps seeing clients' own addresses (its rate limits and geo key on them). The certificate is read
/// again when its file changes, so a renewed Secret needs no restart.
/// </summary>
public static class GatewayTls
{
    public static bool Enabled(IConfiguration configuration) => !string.IsNullOrEmpty(configuration["TLS_DIR"]);

    public static void ListenHttps(this Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string? address,
        IConfiguration configuration)
    {
        var certificates = new ReloadingCertificate(configuration["TLS_DIR"]!);
        var port = configuration.GetValue("HTTPS_PORT", 8443);
        void Https(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen) =>
            listen.UseHttps(o => o.ServerCertificateSelector = (_, _) => certificates.Current);
        if (string.IsNullOrEmpty(address)) kestrel.ListenAnyIP(port, Https);
        else kestrel.Listen(System.Net.IPAddress.Parse(address), port, Https);
    }

    public static IServiceCollection AddGatewayTls(this IServiceCollection services, IConfiguration configuration)
    {
        if (!Enabled(configuration)) return services;
        services.AddHsts(o =>
        {
            o.MaxAge = TimeSpan.FromDays(365);
            o.IncludeSubDomains = configuration.GetValue("HSTS_INCLUDE_SUBDOMAINS", false);
            o.ExcludedHosts.Clear();   // only ever sent over HTTPS, which a local run does not serve
        });
        // Where browsers and carriers reach HTTPS: the public port (the load balancer's 443), not the pod's.
        services.AddHttpsRedirection(o =>
        {
            o.HttpsPort = configuration.GetValue("HTTPS_PUBLIC_PORT", 443);
            o.RedirectStatusCode = StatusCodes.Status308PermanentRedirect;   // keeps a POST a POST
        });
        return services;
    }

    public static void UseGatewayTls(this WebApplication app)
    {
        if (!Enabled(app.Configuration)) return;
        app.UseHsts();
        // Probes come over plain HTTP from the kubelet, and Prometheus scrapes the management port.
        app.UseWhen(http => !http.Request.Path.StartsWithSegments("/health") && !http.Request.Path.StartsWithSegments("/metrics"),
            branch => branch.UseHttpsRedirection());
    }

    /// <summary>
    /// The mounted pair, loaded again when tls.crt's time changes: a file's time per new connection, which costs far less
    /// than the handshake itself. Kubernetes swaps a Secret's files at once (a symlink), so both are of one pair.
    /// </summary>
    private sealed class ReloadingCertificate(string directory)
    {
        private readonly string _certificatePath = Path.Combine(directory, "tls.crt");
        private readonly string _keyPath = Path.Combine(directory, "tls.key");
        private volatile Loaded? _loaded;

        private sealed record Loaded(X509Certificate2 Certificate, DateTime Written);

        public X509Certificate2 Current
        {
            get
            {
                var written = File.GetLastWriteTimeUtc(_certificatePath);
                if (_loaded is { } loaded && loaded.Written == written) return loaded.Certificate;
                var fresh = new Loaded(X509Certificate2.CreateFromPemFile(_certificatePath, _keyPath), written);
                _loaded = fresh;
                return fresh.Certificate;
            }
        }
    }
}
