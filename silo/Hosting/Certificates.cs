using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CallMesh.Silo.Hosting;

/// <summary>
/// Certificates read from a directory laid out as a Kubernetes TLS Secret (<c>tls.crt</c>, <c>tls.key</c>, PEM; optionally
/// <c>ca.crt</c>), and the self-signed ones `./callmesh up` and the tests make in that layout.
/// </summary>
public static class Certificates
{
    public const string CertificateFile = "tls.crt";
    public const string KeyFile = "tls.key";
    public const string AuthorityFile = "ca.crt";

    public static X509Certificate2 Load(string directory) =>
        X509Certificate2.CreateFromPemFile(Path.Combine(directory, CertificateFile), Path.Combine(directory, KeyFile));

    /// <summary>
    /// Writes a self-signed pair valid for 5 years, the key readable by its owner alone; kept if it is there (every silo of
    /// a cluster needs the same one). P-256 for TLS (server and client authentication); RSA 3072 where XML encryption
    /// needs it (Data Protection's key ring).
    /// </summary>
    public static int WriteSelfSigned(string directory, string subject, bool rsa = false)
    {
        var certificatePath = Path.Combine(directory, CertificateFile);
        var keyPath = Path.Combine(directory, KeyFile);
        if (File.Exists(certificatePath) && File.Exists(keyPath)) return 0;
        Directory.CreateDirectory(directory);
        using AsymmetricAlgorithm key = rsa ? RSA.Create(3072) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = key is RSA r
            ? new CertificateRequest($"CN={subject}", r, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest($"CN={subject}", (ECDsa)key, HashAlgorithmName.SHA256);
        if (!rsa)
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
