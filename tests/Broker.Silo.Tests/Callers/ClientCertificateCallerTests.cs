using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit;

namespace Broker.Silo.Tests.Callers;

/// <summary>
/// Mutual TLS on the gRPC port: a client certificate chained to the configured CA and pinned by thumbprint
/// is its caller; one from another CA, one not pinned, or none at all is UNAUTHENTICATED.
/// </summary>
public sealed class ClientCertificateCallerTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("broker-mtls-").FullName;
    private X509Certificate2 _server = null!;
    private X509Certificate2 _pinned = null!;
    private X509Certificate2 _notPinned = null!;
    private X509Certificate2 _foreign = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        using var authority = TestCertificates.Authority("CN=Broker test callers CA");
        using var other = TestCertificates.Authority("CN=Someone else's CA");
        _server = TestCertificates.Issue(authority, "CN=127.0.0.1", serverAuth: true);
        _pinned = TestCertificates.Issue(authority, "CN=payments", serverAuth: false);
        _notPinned = TestCertificates.Issue(authority, "CN=unlisted", serverAuth: false);
        _foreign = TestCertificates.Issue(other, "CN=payments", serverAuth: false);

        File.WriteAllText(Path.Combine(_folder, "server.pem"), _server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_folder, "server.key"), _server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_folder, "ca.pem"), authority.ExportCertificatePem());

        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = new()
            {
                ["Broker:Providers:test:Issuer"] = "https://as.invalid/",
                ["Broker:Providers:test:ClientId"] = "broker",
                ["Broker:Providers:test:ClientSecret"] = "unused",
                ["Broker:Http:TlsCertificatePath"] = Path.Combine(_folder, "server.pem"),
                ["Broker:Http:TlsKeyPath"] = Path.Combine(_folder, "server.key"),
                ["Broker:Http:ClientCertificateAuthorityPath"] = Path.Combine(_folder, "ca.pem"),
                ["Broker:Callers:payments:CertificateThumbprints:0"] = _pinned.GetCertHashString(HashAlgorithmName.SHA256),
                ["Broker:Callers:payments:Providers:0"] = "test",
                ["Broker:Callers:payments:Subjects:0"] = "*",
                ["Broker:Callers:payments:Scopes:0"] = "*",
            },
        });
    }

    [Fact]
    public async Task A_pinned_client_certificate_of_the_trusted_ca_is_its_caller()
    {
        using var admin = Channel(certificate: null);
        await new TokenBroker.TokenBrokerClient(admin.WithBearer(TestCallers.AdminApiKey)).ImportTokensAsync(new ImportTokensRequest
        {
            Provider = "test", Subject = "carol", AccessToken = "imported-access-token-for-mtls",
            AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
        });
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "carol" };

        using var pinned = Channel(_pinned);
        var token = await new TokenBroker.TokenBrokerClient(pinned).GetAccessTokenAsync(request);
        TokenAssert.Same("imported-access-token-for-mtls", token.AccessToken_);

        foreach (var certificate in new[] { _notPinned, _foreign, null })
        {
            using var channel = Channel(certificate);
            await GrpcAssert.FailsWith(StatusCode.Unauthenticated, "UNAUTHENTICATED",
                () => new TokenBroker.TokenBrokerClient(channel).GetAccessTokenAsync(request).ResponseAsync);
        }
    }

    private GrpcChannel Channel(X509Certificate2? certificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetCertHashString() == _server.GetCertHashString();
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }
        return GrpcChannel.ForAddress($"https://127.0.0.1:{_silo.GrpcPort}", new GrpcChannelOptions { HttpHandler = handler });
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
