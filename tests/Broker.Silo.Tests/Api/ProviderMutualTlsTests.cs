using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Processes;
using Broker.V1;
using Grpc.Core;
using Microsoft.IdentityModel.Tokens;
using Xunit;

namespace Broker.Silo.Tests.Api;

/// <summary>
/// RFC 8705 mutual-TLS client authentication to a provider: OpenIddict on HTTPS with self-signed TLS client
/// authentication, the broker as a separate process that trusts the test CA (SSL_CERT_FILE). The registered
/// certificate gets a client-credentials token; another certificate is refused with invalid_client.
/// </summary>
public sealed class ProviderMutualTlsTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("broker-rfc8705-").FullName;
    private TestAuthorizationServer _server = null!;
    private SiloProcess _silo = null!;

    public async Task InitializeAsync()
    {
        using var authority = TestCertificates.Authority("CN=Broker test server CA");
        var serverCertificate = TestCertificates.Issue(authority, "CN=127.0.0.1", serverAuth: true);

        var registered = SelfSigned("registered");
        SelfSigned("unregistered");

        // The silo process trusts the system's CAs and the test CA; nothing else about it changes.
        var bundle = Path.Combine(_folder, "ca-bundle.pem");
        var system = Environment.GetEnvironmentVariable("SSL_CERT_FILE") is { } current && File.Exists(current) ? current : "/etc/ssl/certs/ca-certificates.crt";
        File.WriteAllText(bundle, (File.Exists(system) ? File.ReadAllText(system) : "") + "\n" + authority.ExportCertificatePem() + "\n");

        var keys = new JsonWebKeySet();
        keys.Keys.Add(JsonWebKeyConverter.ConvertFromX509SecurityKey(new X509SecurityKey(registered)));
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions
        {
            HttpsCertificate = serverCertificate,
            Clients =
            [
                new TestAuthorizationServerClient(),
                new TestAuthorizationServerClient { ClientId = "mtls-client", ClientSecret = null, JsonWebKeySet = keys },
            ],
        });

        var settings = new Dictionary<string, string?> { ["SSL_CERT_FILE"] = bundle };
        foreach (var (provider, certificate) in new[] { ("bank", "registered"), ("impostor", "unregistered") })
        {
            settings[$"Broker:Providers:{provider}:Issuer"] = _server.Issuer.AbsoluteUri;
            settings[$"Broker:Providers:{provider}:ClientId"] = "mtls-client";
            settings[$"Broker:Providers:{provider}:ClientAuthentication"] = "TlsClientAuth";
            settings[$"Broker:Providers:{provider}:ClientCertificateFile"] = Path.Combine(_folder, $"{certificate}.pem");
            settings[$"Broker:Providers:{provider}:ClientCertificateKeyFile"] = Path.Combine(_folder, $"{certificate}.key");
        }
        _silo = await SiloProcess.StartAsync(settings);
    }

    [Fact]
    public async Task The_registered_client_certificate_authenticates_the_broker_and_another_does_not()
    {
        Assert.Equal("https", _server.Issuer.Scheme);
        var token = await _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "bank", Scopes = { "api" } });
        Assert.Equal("client_credentials", token.Source);
        Assert.Equal(1, _server.Stats.ClientCredentialsGrants);

        var refused = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "PROVIDER_REJECTED",
            () => _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "impostor", Scopes = { "api" } }).ResponseAsync);
        Assert.Equal("invalid_client", refused.GetDetail<Google.Rpc.ErrorInfo>()!.Metadata["detail"]);
        Assert.Equal(1, _server.Stats.ClientCredentialsGrants);
    }

    /// <summary>A self-signed client certificate as OpenIddict accepts one: digitalSignature and the clientAuth purpose.</summary>
    private X509Certificate2 SelfSigned(string file)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=broker-mtls-client", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(_folder, $"{file}.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_folder, $"{file}.key"), key.ExportPkcs8PrivateKeyPem());
        return certificate;
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
