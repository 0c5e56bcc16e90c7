using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using CallMesh.Silo.Hosting;
using CallMesh.Tests.Infrastructure;

namespace CallMesh.Tests.Api;

/// <summary>
/// The gateway serves HTTPS itself when given a certificate (gateway/Proxy/GatewayTls.cs): HSTS on every HTTPS answer,
/// plain HTTP redirected there but for the probes, and a renewed certificate used without a restart.
/// </summary>
[Collection(ProcessTests.Name)]
public sealed class GatewayTlsTests(TestDatabase db) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task Https_with_hsts_plain_http_redirected_but_probes_and_a_renewed_certificate_served_without_restart()
    {
        var tls = Directory.CreateTempSubdirectory("callmesh-gateway-tls-").FullName;
        Certificates.WriteSelfSigned(tls, "calls.example.test");
        var httpsPort = Ports.Free();
        await using var cluster = await ProcessCluster.StartAsync(db.ConnectionString, silos: 1, gatewaySettings: new()
        {
            ["CALLMESH_TLS_DIR"] = tls,
            ["CALLMESH_HTTPS_PORT"] = $"{httpsPort}",
            ["CALLMESH_HTTPS_PUBLIC_PORT"] = $"{httpsPort}",
        });
        X509Certificate2? shown = null;
        using var https = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.Zero,   // a new connection (and handshake) per request
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => { shown = new X509Certificate2(certificate!); return true; },
            },
        })
        { BaseAddress = new Uri($"https://127.0.0.1:{httpsPort}") };
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = cluster.Gateway };

        using (var page = await https.GetAsync("/dashboard"))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("max-age=31536000", Assert.Single(page.Headers.GetValues("Strict-Transport-Security")));
        }
        Assert.Equal(Certificates.Load(tls).RawData, shown!.RawData);

        // Plain HTTP: the dashboard and a carrier's POST go to HTTPS (308 keeps the method); probes answer where they are.
        using (var page = await http.GetAsync("/dashboard"))
        {
            Assert.Equal(HttpStatusCode.PermanentRedirect, page.StatusCode);
            Assert.Equal($"https://127.0.0.1:{httpsPort}/dashboard", page.Headers.Location!.ToString());
            Assert.False(page.Headers.Contains("Strict-Transport-Security"));
        }
        using (var webhook = await http.PostAsync("/v1/voice/twilio/inbound", new FormUrlEncodedContent(new Dictionary<string, string> { ["CallSid"] = "CA1" })))
            Assert.Equal(HttpStatusCode.PermanentRedirect, webhook.StatusCode);
        using (var ready = await http.GetAsync("/health/ready"))
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        // cert-manager renews the Secret: the next connection gets the new certificate, no restart.
        var renewed = Directory.CreateTempSubdirectory("callmesh-gateway-tls-").FullName;
        Certificates.WriteSelfSigned(renewed, "calls.example.test");
        File.Copy(Path.Combine(renewed, Certificates.KeyFile), Path.Combine(tls, Certificates.KeyFile), overwrite: true);
        File.Copy(Path.Combine(renewed, Certificates.CertificateFile), Path.Combine(tls, Certificates.CertificateFile), overwrite: true);
        File.SetLastWriteTimeUtc(Path.Combine(tls, Certificates.CertificateFile), DateTime.UtcNow.AddSeconds(5));
        using (var page = await https.GetAsync("/dashboard"))
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(Certificates.Load(renewed).RawData, shown!.RawData);
        Directory.Delete(tls, recursive: true);
        Directory.Delete(renewed, recursive: true);
    }
}
