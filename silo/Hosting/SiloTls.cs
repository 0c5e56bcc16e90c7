using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// Mutual TLS between silos (docs/security.md#inside-the-cluster). The certificate is read from a directory laid out as a
/// Kubernetes TLS secret: <c>tls.crt</c> and <c>tls.key</c> (PEM), and optionally <c>ca.crt</c>. A peer is trusted when its
/// certificate chains to <c>ca.crt</c> (cert-manager and other issuers: each silo may hold its own certificate), or, with
/// no CA, when it is this silo's own certificate (one pair shared by the cluster, as <c>./callmesh up</c> makes). Names
/// are not checked: silos dial each other by pod address, which no certificate names ahead of time.
/// </summary>
public static class SiloTls
{
    public static ISiloBuilder UseCallMeshTls(this ISiloBuilder silo, string directory)
    {
        var certificate = Certificates.Load(directory);
        var authorityPath = Path.Combine(directory, Certificates.AuthorityFile);
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
}
