using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CallMesh.Silo.Hosting;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>
/// Silos speak mutual TLS to each other (silo/Hosting/SiloTls.cs): a pod that reaches a silo port without the cluster's
/// certificate can neither talk to it nor join the cluster. The two silos of the cluster, both members, show that the
/// cluster's own certificate works; every other process test runs its silos over the same TLS.
/// </summary>
[Collection(ProcessTests.Name)]
public sealed class SiloTlsTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Only_a_holder_of_the_cluster_certificate_talks_to_a_silo_or_joins_the_cluster()
    {
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 2);
        var port = cluster.SiloPort(0);
        var own = X509Certificate2.CreateFromPemFile(
            Path.Combine(cluster.SiloTlsDirectory, Certificates.CertificateFile), Path.Combine(cluster.SiloTlsDirectory, Certificates.KeyFile));

        // With the cluster's certificate: a mutual TLS 1.3 session, and the silo shows the same certificate.
        await using (var trusted = await HandshakeAsync(port, own))
        {
            Assert.NotNull(trusted);
            Assert.True(trusted.IsMutuallyAuthenticated);
            Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, trusted.SslProtocol);
            Assert.Equal(own.RawData, trusted.RemoteCertificate!.GetRawCertData());
        }

        // Without a certificate, with another one, or in the clear: the silo closes the connection.
        Assert.True(await RefusedAsync(port, certificate: null));
        var strangerDirectory = Directory.CreateTempSubdirectory("callmesh-stranger-").FullName;
        Certificates.WriteSelfSigned(strangerDirectory, "callmesh-silo");
        var stranger = X509Certificate2.CreateFromPemFile(
            Path.Combine(strangerDirectory, Certificates.CertificateFile), Path.Combine(strangerDirectory, Certificates.KeyFile));
        Assert.True(await RefusedAsync(port, stranger));
        Assert.True(await ClearTextRefusedAsync(port));

        // A silo with another certificate, pointed at the same cluster's table, never becomes a member: the members refuse
        // its connections, it cannot reach them, and it gives up (or is voted dead) instead of serving.
        var rogue = cluster.AddSilo(new() { ["CALLMESH_SILO_TLS_DIR"] = strangerDirectory });
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!cluster.Silos[rogue].HasExited && DateTime.UtcNow < deadline) await Task.Delay(500);
        Assert.True(cluster.Silos[rogue].HasExited, $"the silo with a stranger's certificate is still running:\n{cluster.ReadSiloLog(rogue)}");
        Assert.Equal(2, await ActiveMembersAsync(db));
        using var health = await cluster.Http.GetAsync("/health/ready");
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        Directory.Delete(strangerDirectory, recursive: true);
    }

    [Fact]
    public void With_a_ca_crt_every_certificate_its_authority_issued_is_trusted_and_no_other()
    {
        using var authorityKey = System.Security.Cryptography.ECDsa.Create();
        var authorityRequest = new CertificateRequest("CN=callmesh-silo-ca", authorityKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var authority = authorityRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        X509Certificate2 Issue(string name)
        {
            using var key = System.Security.Cryptography.ECDsa.Create();
            var request = new CertificateRequest($"CN={name}", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            return request.Create(authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), Guid.NewGuid().ToByteArray());
        }
        using var own = Issue("callmesh-silo-0");
        using var sibling = Issue("callmesh-silo-1");
        var directory = Directory.CreateTempSubdirectory("callmesh-stranger-").FullName;
        Certificates.WriteSelfSigned(directory, "callmesh-silo");
        using var stranger = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(directory, Certificates.CertificateFile)));
        Directory.Delete(directory, recursive: true);

        Assert.True(SiloTls.Trusts(own, authority, sibling));
        Assert.False(SiloTls.Trusts(own, authority, stranger));
        // Without a CA only the shared certificate itself is trusted: a sibling with its own certificate is not.
        Assert.True(SiloTls.Trusts(own, null, own));
        Assert.False(SiloTls.Trusts(own, null, sibling));
    }

    private static async Task<SslStream> HandshakeAsync(int port, X509Certificate2? certificate)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "callmesh-silo",
            ClientCertificates = certificate is null ? null : [certificate],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,   // this test judges the silo's certificate itself
        }, timeout.Token);
        return ssl;
    }

    /// <summary>True when the silo ends the connection: a failed handshake, or (TLS 1.3 judges the client's certificate
    /// after the client's side is done) an alert or end of stream on the first read.</summary>
    private static async Task<bool> RefusedAsync(int port, X509Certificate2? certificate)
    {
        try
        {
            await using var ssl = await HandshakeAsync(port, certificate);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await ssl.ReadAsync(new byte[16], timeout.Token) == 0;
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException) { return true; }
        catch (OperationCanceledException) { return false; }   // still open after 10 s: not refused
    }

    private static async Task<bool> ClearTextRefusedAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        // What an Orleans peer sends first in the clear: a length-prefixed preamble.
        await stream.WriteAsync(new byte[] { 16, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            var buffer = new byte[64];
            while (true) if (await stream.ReadAsync(buffer, timeout.Token) == 0) return true;
        }
        catch (IOException) { return true; }
        catch (OperationCanceledException) { return false; }
    }

    private static async Task<long> ActiveMembersAsync(TestDatabase db)
    {
        await using var connection = new Npgsql.NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM orleans.membership_member WHERE status = 3", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
