using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace CallMesh.Gateway.Identity;

/// <summary>
/// One data-protection key for every gateway replica, derived from the deployment's session secret
/// (Auth:SessionSigningKeyHex, a Kubernetes Secret), so a session cookie, or a sign-in started on one replica and
/// finished on another, opens anywhere. Without it each replica would make its own key ring and sessions would break
/// behind the load balancer. Changing the secret signs everyone out, as rotating a session secret should.
/// </summary>
public sealed class SharedKeyRing(byte[] secret) : IXmlRepository
{
    public static void Use(IServiceCollection services, string secretHex)
    {
        services.AddDataProtection().SetApplicationName("callmesh-gateway").DisableAutomaticKeyGeneration();
        services.Configure<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(o =>
            o.XmlRepository = new SharedKeyRing(Convert.FromHexString(secretHex)));
    }

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        // Its own key, not the token-signing key itself: the two uses must not share key material.
        var master = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 64, info: Encoding.UTF8.GetBytes("callmesh gateway data protection"));
        var id = new Guid(SHA256.HashData(master).AsSpan(0, 16));
        XNamespace dp = "http://schemas.asp.net/2015/03/dataProtection";
        return
        [
            new XElement("key", new XAttribute("id", id), new XAttribute("version", 1),
                new XElement("creationDate", "2026-01-01T00:00:00Z"),
                new XElement("activationDate", "2026-01-01T00:00:00Z"),
                new XElement("expirationDate", "2126-01-01T00:00:00Z"),
                new XElement("descriptor",
                    new XAttribute("deserializerType",
                        "Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer, Microsoft.AspNetCore.DataProtection"),
                    new XElement("descriptor",
                        new XElement("encryption", new XAttribute("algorithm", "AES_256_CBC")),
                        new XElement("validation", new XAttribute("algorithm", "HMACSHA256")),
                        new XElement("masterKey", new XAttribute(dp + "requiresEncryption", "true"),
                            new XElement("value", Convert.ToBase64String(master)))))),
        ];
    }

    // Keys are derived, never stored: automatic key generation is off.
    public void StoreElement(XElement element, string friendlyName) =>
        throw new InvalidOperationException("The gateway's data-protection key is derived from the session secret, not generated.");
}
