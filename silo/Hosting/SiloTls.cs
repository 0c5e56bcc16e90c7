using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// Mutual TLS between silos (docs/security.md#between-silos). The certificate is read from a directory laid out as a
/// Kubernetes TLS secret: <c>tls.crt</c> and <c>tls.key</c> (PEM), and optionally <c>ca.crt</c>. A peer is trusted when its
/// certificate chains to <c>ca.crt</c> (cert-manager and other issuers: each silo may hold its own certificate), or, with
/// no CA, when it is this silo's own certificate (one pair shared by the cluster, as <c>./callmesh up</c> makes). Names
/// are not checked: silos dial each other by pod address, which no certificate names ahead of time.
/// </summary>
public static class SiloTls
{
    public const string CertificateFile = "tls.crt";
    public const string KeyFile = "tls.key";
    public const string AuthorityFile = "ca.crt";

    public static ISiloBuilder UseCallMeshTls(this ISiloBuilder silo, string directory)
    {
        var certificate = X509Certificate2.CreateFromPemFile(Path.Combine(directory, CertificateFile), Path.Combine(directory, KeyFile));
        var authorityPath = Path.Combine(directory, AuthorityFile);
        var authority = File.Exists(authorityPath) ? X509Certificate2.CreateFromPem(File.ReadAllText(authorityPath)) : null;
        return silo.UseTls(o =>
        {
            o.LocalCertificate = certificate;
            // Both ends show a certificate: a silo port that answers anything without one is the hole this closes.
            o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            o.SslProtocols = System.Security.Authentication.SslProtocols.Tls13;
            o.RemoteCertificateValidation = (peer, _, _) => Trusts(certificate, authority, peer);
        });
    }

    /// <summary>Whether a peer's certificate is one of the cluster's (see the class summary).</summary>
    public static bool Trusts(X509Certificate2 own, X509Certificate2? authority, X509Certificate2 peer)
    {
        if (authority is null) return peer.RawDataMemory.Span.SequenceEqual(own.RawDataMemory.Span);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;   // short-lived certificates, rotated by the issuer
        return chain.Build(peer);
    }

    /// <summary>
    /// `CallMesh.Silo silo-tls DIR`: writes a self-signed pair for one cluster's silos (P-256, 5 years, server and client
    /// authentication), the key readable by its owner alone. Kept if it is there: every silo of a cluster needs the same one.
    /// </summary>
    public static int WriteSelfSigned(string directory)
    {
        var certificatePath = Path.Combine(directory, CertificateFile);
        var keyPath = Path.Combine(directory, KeyFile);
        if (File.Exists(certificatePath) && File.Exists(keyPath)) return 0;
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=callmesh-silo", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(5));
        WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        WritePrivate(certificatePath, certificate.ExportCertificatePem());
        return 0;
    }

    private static void WritePrivate(string path, string pem)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        using var writer = new StreamWriter(file);
        writer.Write(pem);
    }
}
