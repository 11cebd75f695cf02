using System.Security.Cryptography;
using System.Text.Json;
using Broker.Abstractions.Identity;
using Broker.OAuth.Discovery;
using Broker.OAuth.Dpop;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Broker.Testing.DpopServer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Tests.Dpop;

/// <summary>
/// Token requests with DPoP proofs (RFC 9449) against node oidc-provider, whose own validation decides: it requires
/// a server nonce on every proof, holds each proof's jti and each client assertion's jti to one use, and binds the
/// tokens it issues to the proof's key (cnf.jkt, seen through introspection).
/// </summary>
public sealed class DpopTokenRequestTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("broker-dpop-").FullName;
    private readonly ECDsa _clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private DpopAuthorizationServer _server = null!;

    public async Task InitializeAsync()
    {
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(_clientKey) { KeyId = "client-1" });
        File.WriteAllText(Path.Combine(_folder, "client.jwk"), JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["kty"] = jwk.Kty, ["crv"] = jwk.Crv, ["x"] = jwk.X, ["y"] = jwk.Y, ["d"] = jwk.D, ["kid"] = jwk.KeyId,
        }));
        var publicKeys = JsonSerializer.Serialize(new { keys = new[] { new { kty = jwk.Kty, crv = jwk.Crv, x = jwk.X, y = jwk.Y, kid = jwk.KeyId, use = "sig" } } });
        _server = await DpopAuthorizationServer.StartAsync(requireNonce: true, jwtClientKeys: publicKeys);
    }

    [Fact]
    public async Task A_client_credentials_token_is_bound_to_the_key_that_signed_the_proof()
    {
        var (tokens, provider, metadata) = await ClientAsync(DpopMode.Required);
        using var key = DpopKey.Generate();

        var outcome = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api"]), "", dpop: new LocalDpopProver(key, TimeProvider.System));

        var issued = Assert.IsType<TokenEndpointOutcome.Issued>(outcome);
        Assert.True(DpopUse.IsBound(issued.Tokens.TokenType), issued.Tokens.TokenType);
        var introspection = await _server.IntrospectAsync(issued.Tokens.AccessToken);
        Assert.True(introspection.GetProperty("active").GetBoolean());
        Assert.Equal(key.Thumbprint, introspection.GetProperty("cnf").GetProperty("jkt").GetString());
    }

    [Fact]
    public async Task A_nonce_challenge_costs_exactly_one_extra_request_and_no_proof_is_reused()
    {
        var (tokens, provider, metadata) = await ClientAsync(DpopMode.Required);
        using var key = DpopKey.Generate();
        var before = await _server.StatsAsync();

        // No nonce known yet: refused with use_dpop_nonce, then sent once more with the nonce.
        Assert.IsType<TokenEndpointOutcome.Issued>(await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api"]), "", dpop: new LocalDpopProver(key, TimeProvider.System)));
        var first = await _server.StatsAsync();
        Assert.Equal((2, 1, 1), (first.TokenRequests - before.TokenRequests, first.Issued - before.Issued, first.UseDpopNonce - before.UseDpopNonce));

        // The nonce of that answer is remembered: the next request needs no challenge.
        Assert.IsType<TokenEndpointOutcome.Issued>(await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api"]), "", dpop: new LocalDpopProver(key, TimeProvider.System)));
        var second = await _server.StatsAsync();
        Assert.Equal((1, 1, 0), (second.TokenRequests - first.TokenRequests, second.Issued - first.Issued, second.UseDpopNonce - first.UseDpopNonce));

        var proofs = second.ProofIds.Skip(before.ProofIds.Count).ToList();
        Assert.Equal(3, proofs.Count);
        Assert.Equal(proofs.Count, proofs.Distinct().Count());
    }

    [Fact]
    public async Task The_retry_after_a_nonce_challenge_carries_a_fresh_client_assertion()
    {
        // oidc-provider holds each client assertion's jti to one use: the retry succeeds only with a new one.
        var (tokens, provider, metadata) = await ClientAsync(DpopMode.Required, privateKeyJwt: true);
        using var key = DpopKey.Generate();
        var before = await _server.StatsAsync();

        var outcome = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api"]), "", dpop: new LocalDpopProver(key, TimeProvider.System));

        Assert.True(outcome is TokenEndpointOutcome.Issued, outcome.ToString());
        var after = await _server.StatsAsync();
        Assert.Equal((2, 1), (after.TokenRequests - before.TokenRequests, after.UseDpopNonce - before.UseDpopNonce));
    }

    [Fact]
    public async Task Opportunistic_uses_DPoP_when_the_metadata_lists_it()
    {
        var (tokens, provider, metadata) = await ClientAsync(DpopMode.Opportunistic);
        Assert.Contains("ES256", metadata.DpopSigningAlgorithms);
        using var key = DpopKey.Generate();

        var outcome = await new TokenEndpoint(MetadataStoreOf(tokens), tokens).ClientCredentialsAsync(provider, ScopeSet.Parse(["api"]), "", dpop: new LocalDpopProver(key, TimeProvider.System));

        var issued = Assert.IsType<TokenEndpointOutcome.Issued>(outcome);
        Assert.Equal("DPoP", issued.Tokens.TokenType, ignoreCase: true);
    }

    [Fact]
    public async Task Off_sends_no_proof_and_gets_a_bearer_token()
    {
        var (tokens, provider, _) = await ClientAsync(DpopMode.Off);
        using var key = DpopKey.Generate();
        var before = await _server.StatsAsync();

        var outcome = await new TokenEndpoint(MetadataStoreOf(tokens), tokens).ClientCredentialsAsync(provider, ScopeSet.Parse(["api"]), "", dpop: new LocalDpopProver(key, TimeProvider.System));

        var issued = Assert.IsType<TokenEndpointOutcome.Issued>(outcome);
        Assert.Equal("Bearer", issued.Tokens.TokenType, ignoreCase: true);
        Assert.Equal(before.ProofIds.Count, (await _server.StatsAsync()).ProofIds.Count);
    }

    private readonly Dictionary<TokenEndpointClient, MetadataStore> _stores = [];

    private MetadataStore MetadataStoreOf(TokenEndpointClient client) => _stores[client];

    private async Task<(TokenEndpointClient, Provider, AuthorizationServerMetadata)> ClientAsync(DpopMode mode, bool privateKeyJwt = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Broker:Http:PublicBaseUrl"] = "http://127.0.0.1:9/",
            ["Broker:Providers:dpop:Issuer"] = _server.IssuerString,
            ["Broker:Providers:dpop:Dpop"] = mode.ToString(),
        };
        if (privateKeyJwt)
        {
            settings["Broker:Providers:dpop:ClientId"] = DpopAuthorizationServer.JwtClientId;
            settings["Broker:Providers:dpop:ClientAuthentication"] = "PrivateKeyJwt";
            settings["Broker:Providers:dpop:ClientKeyFile"] = Path.Combine(_folder, "client.jwk");
        }
        else
        {
            settings["Broker:Providers:dpop:ClientId"] = DpopAuthorizationServer.ClientId;
            settings["Broker:Providers:dpop:ClientSecret"] = DpopAuthorizationServer.ClientSecret;
        }
        var services = new ServiceCollection().AddLogging()
            .AddBrokerOAuth(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();
        var provider = services.GetRequiredService<ProviderRegistry>().Get(ProviderName.Parse("dpop"));
        var store = services.GetRequiredService<MetadataStore>();
        var metadata = await store.GetAsync(provider);
        var client = services.GetRequiredService<TokenEndpointClient>();
        _stores[client] = store;
        return (client, provider, metadata);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _clientKey.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
