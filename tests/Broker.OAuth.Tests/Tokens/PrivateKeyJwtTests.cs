using System.Security.Cryptography;
using Broker.Abstractions.Identity;
using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Broker.Testing.AuthorizationServer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Tests.Tokens;

/// <summary>
/// private_key_jwt (RFC 7523 §2.2) against OpenIddict, which holds only the clients' public keys: an RSA key
/// from a PEM file and an EC key from a JWK file are accepted; an unregistered key is refused with invalid_client.
/// </summary>
public sealed class PrivateKeyJwtTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("broker-pkjwt-").FullName;
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private TestAuthorizationServer _server = null!;
    private readonly AssertionRecorder _sent = new();

    public async Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_folder, "rsa.pem"), _rsa.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_folder, "other.pem"), RSA.Create(2048).ExportPkcs8PrivateKeyPem());
        var ecJwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(_ec) { KeyId = "ec-1" });
        File.WriteAllText(Path.Combine(_folder, "ec.jwk"), System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["kty"] = ecJwk.Kty, ["crv"] = ecJwk.Crv, ["x"] = ecJwk.X, ["y"] = ecJwk.Y, ["d"] = ecJwk.D, ["kid"] = ecJwk.KeyId,
        }));

        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions
        {
            Clients =
            [
                new TestAuthorizationServerClient(),
                new TestAuthorizationServerClient { ClientId = "rsa-client", ClientSecret = null, JsonWebKeySet = PublicKeys(new RsaSecurityKey(_rsa.ExportParameters(false))) },
                new TestAuthorizationServerClient { ClientId = "ec-client", ClientSecret = null, JsonWebKeySet = PublicKeys(new ECDsaSecurityKey(ECDsa.Create(_ec.ExportParameters(false))) { KeyId = "ec-1" }) },
            ],
        });
    }

    [Theory]
    [InlineData("rsa-client", "rsa.pem", ClientAssertionAudience.Issuer)]
    [InlineData("ec-client", "ec.jwk", ClientAssertionAudience.Issuer)]
    public async Task A_client_with_a_registered_key_gets_tokens(string clientId, string keyFile, ClientAssertionAudience audience)
    {
        var (tokens, provider, metadata) = await ClientAsync(clientId, keyFile, audience);

        // Twice: each request carries a new assertion (a server that remembers jti values would refuse a repeat).
        for (var i = 0; i < 2; i++)
        {
            var outcome = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api"]), "");
            Assert.True(outcome is TokenEndpointOutcome.Issued, outcome.ToString());
        }
        var sent = _sent.Assertions.Select(a => new JsonWebToken(a)).ToList();
        Assert.Equal(2, sent.Count);
        Assert.All(sent, a => Assert.Equal([_server.Issuer.AbsoluteUri], a.Audiences));
        Assert.NotEqual(sent[0].Id, sent[1].Id);
    }

    [Fact]
    public async Task The_token_endpoint_as_audience_is_sent_when_configured()
    {
        var (tokens, provider, metadata) = await ClientAsync("rsa-client", "rsa.pem", ClientAssertionAudience.TokenEndpoint);
        var outcome = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api"]), "");

        // The assertion on the wire names the token endpoint, and only it.
        var sent = new JsonWebToken(Assert.Single(_sent.Assertions));
        Assert.Equal([metadata.TokenEndpoint.AbsoluteUri], sent.Audiences);
        Assert.NotEqual(_server.Issuer.AbsoluteUri, metadata.TokenEndpoint.AbsoluteUri);
        // OpenIddict 7 follows draft-ietf-oauth-rfc7523bis and accepts only its issuer as audience (the setting exists
        // for servers that require the other form): it refuses the assertion for its audience, and for nothing else.
        var rejected = Assert.IsType<TokenEndpointOutcome.Rejected>(outcome);
        Assert.Equal(("invalid_token", 400), (rejected.Error, rejected.HttpStatus));
        var error = Assert.Single(_server.Stats.Errors);
        Assert.Equal(("client_credentials", "invalid_token"), (error.GrantType, error.Error));
        Assert.Contains("doesn't contain any valid audience", error.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_the_server_does_not_know_is_refused()
    {
        var (tokens, provider, metadata) = await ClientAsync("rsa-client", "other.pem", ClientAssertionAudience.Issuer);
        var outcome = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api"]), "");
        Assert.Equal("invalid_client", Assert.IsType<TokenEndpointOutcome.Rejected>(outcome).Error);
    }

    [Fact]
    public void Assertions_name_the_client_and_the_server_live_one_minute_and_never_repeat()
    {
        var credentials = ClientSigningKey.Load(Path.Combine(_folder, "rsa.pem"), keyId: null);
        var now = DateTimeOffset.UtcNow;
        var first = new JsonWebToken(JwtClientAssertion.Create("client-1", "https://as.example/", credentials, now));
        var second = new JsonWebToken(JwtClientAssertion.Create("client-1", "https://as.example/", credentials, now));

        Assert.Equal("client-1", first.Issuer);
        Assert.Equal("client-1", first.Subject);
        Assert.Equal(["https://as.example/"], first.Audiences);
        Assert.Equal(TimeSpan.FromSeconds(60), first.ValidTo - first.IssuedAt);
        Assert.Equal("RS256", first.Alg);
        Assert.Equal("client-authentication+jwt", first.Typ);
        Assert.False(string.IsNullOrEmpty(first.Kid));
        Assert.NotEqual(first.Id, second.Id);
        Assert.True(first.Id.Length >= 22); // 128 random bits
    }

    private async Task<(TokenEndpointClient, Provider, AuthorizationServerMetadata)> ClientAsync(string clientId, string keyFile, ClientAssertionAudience audience)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Http:PublicBaseUrl"] = "http://127.0.0.1:9/",
            ["Broker:Providers:jwt:Issuer"] = _server.Issuer.AbsoluteUri,
            ["Broker:Providers:jwt:ClientId"] = clientId,
            ["Broker:Providers:jwt:ClientAuthentication"] = "PrivateKeyJwt",
            ["Broker:Providers:jwt:ClientKeyFile"] = Path.Combine(_folder, keyFile),
            ["Broker:Providers:jwt:ClientAssertionAudience"] = audience.ToString(),
        }).Build();
        var services = new ServiceCollection().AddLogging().AddBrokerOAuth(configuration)
            .ConfigureHttpClientDefaults(client => client.AddHttpMessageHandler(() => new RecordingHandler(_sent)))
            .BuildServiceProvider();
        var provider = services.GetRequiredService<ProviderRegistry>().Get(ProviderName.Parse("jwt"));
        var metadata = await services.GetRequiredService<MetadataStore>().GetAsync(provider);
        return (services.GetRequiredService<TokenEndpointClient>(), provider, metadata);
    }

    private static JsonWebKeySet PublicKeys(SecurityKey key)
    {
        var set = new JsonWebKeySet();
        set.Keys.Add(JsonWebKeyConverter.ConvertFromSecurityKey(key));
        return set;
    }

    /// <summary>The client_assertion of every token request the broker's HTTP clients sent.</summary>
    private sealed class AssertionRecorder
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _assertions = new();

        public IReadOnlyCollection<string> Assertions => _assertions;

        public void Add(string assertion) => _assertions.Enqueue(assertion);
    }

    private sealed class RecordingHandler(AssertionRecorder recorder) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is { } content)
            {
                var form = System.Web.HttpUtility.ParseQueryString(await content.ReadAsStringAsync(cancellationToken));
                if (form["client_assertion"] is { } assertion) recorder.Add(assertion);
            }
            return await base.SendAsync(request, cancellationToken);
        }
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
