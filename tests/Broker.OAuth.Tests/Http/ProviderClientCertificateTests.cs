using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Abstractions.Identity;
using Broker.OAuth.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.OAuth.Tests.Http;

/// <summary>
/// RFC 8705 client authentication: a provider set to TlsClientAuth gets its certificate on the connections of
/// both of its HttpClients; a provider with a secret gets none.
/// </summary>
public sealed class ProviderClientCertificateTests
{
    [Fact]
    public void Tls_client_auth_providers_present_their_certificate_on_every_connection()
    {
        var (folder, certificate, settings) = TlsClientProvider();
        settings["Broker:Providers:plain:Issuer"] = "https://plain.example/";
        settings["Broker:Providers:plain:ClientId"] = "broker";
        settings["Broker:Providers:plain:ClientSecret"] = "secret";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var services = new ServiceCollection().AddLogging().AddBrokerOAuth(configuration).BuildServiceProvider();
        var handlers = services.GetRequiredService<IHttpMessageHandlerFactory>();

        foreach (var name in new[] { OAuthHttpClients.RetryableName(ProviderName.Parse("bank")), OAuthHttpClients.SingleAttemptName(ProviderName.Parse("bank")) })
        {
            var presented = Assert.IsType<X509Certificate2>(Assert.Single(Primary(handlers.CreateHandler(name)).SslOptions.ClientCertificates!.Cast<X509Certificate>()));
            Assert.Equal(certificate.Thumbprint, presented.Thumbprint);
            Assert.True(presented.HasPrivateKey);
        }
        Assert.Null(Primary(handlers.CreateHandler(OAuthHttpClients.RetryableName(ProviderName.Parse("plain")))).SslOptions.ClientCertificates);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task A_certificate_that_no_longer_loads_fails_the_request_before_anything_is_sent()
    {
        var (folder, _, settings) = TlsClientProvider();
        settings["Broker:Http:PublicBaseUrl"] = "http://127.0.0.1:9/";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var services = new ServiceCollection().AddLogging().AddBrokerOAuth(configuration).BuildServiceProvider();
        var provider = services.GetRequiredService<Broker.OAuth.Providers.ProviderRegistry>().Get(ProviderName.Parse("bank")); // validated: the files load
        Directory.Delete(folder, recursive: true); // then the mounted secret disappears

        var metadata = new Broker.OAuth.Discovery.AuthorizationServerMetadata("https://bank.example/", new Uri("https://bank.example/authorize"),
            new Uri("https://bank.example/token"), null, ["S256"], true);
        var outcome = await services.GetRequiredService<Broker.OAuth.Tokens.TokenEndpointClient>()
            .RefreshAsync(provider, metadata, "a-refresh-token", ScopeSet.Empty);

        // Not "outcome unknown": nothing left the process, so the family's refresh token is still good.
        Assert.IsType<Broker.OAuth.Tokens.TokenEndpointOutcome.NotSent>(outcome);
    }

    /// <summary>Provider "bank" with TlsClientAuth and a fresh self-signed certificate in a temporary folder.</summary>
    private static (string Folder, X509Certificate2 Certificate, Dictionary<string, string?> Settings) TlsClientProvider()
    {
        var folder = Directory.CreateTempSubdirectory("broker-mtls-client-").FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var certificate = new CertificateRequest("CN=broker-client", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(folder, "client.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "client.key"), key.ExportPkcs8PrivateKeyPem());
        return (folder, certificate, new Dictionary<string, string?>
        {
            ["Broker:Providers:bank:Issuer"] = "https://bank.example/",
            ["Broker:Providers:bank:ClientId"] = "broker",
            ["Broker:Providers:bank:ClientAuthentication"] = "TlsClientAuth",
            ["Broker:Providers:bank:ClientCertificateFile"] = Path.Combine(folder, "client.pem"),
            ["Broker:Providers:bank:ClientCertificateKeyFile"] = Path.Combine(folder, "client.key"),
        });
    }

    private static SocketsHttpHandler Primary(HttpMessageHandler handler)
    {
        while (handler is DelegatingHandler delegating) handler = delegating.InnerHandler!;
        return Assert.IsType<SocketsHttpHandler>(handler);
    }
}
