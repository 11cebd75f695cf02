using Broker.Abstractions.Identity;
using Broker.OAuth.Discovery;
using Broker.OAuth.Dpop;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Broker.Testing.DpopServer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.OAuth.Tests.Dpop;

/// <summary>
/// Which algorithm a provider's DPoP keys use (ES256 by default, else one the server lists), and what Required does
/// with a bearer answer; the algorithm cases are checked by node oidc-provider's own proof validation.
/// </summary>
public sealed class DpopAlgorithmTests
{
    [Theory]
    [InlineData(DpopMode.Opportunistic, "", null)]
    [InlineData(DpopMode.Required, "", "ES256")]
    [InlineData(DpopMode.Opportunistic, "PS256,ES256,ES384", "ES256")]
    [InlineData(DpopMode.Opportunistic, "PS256,ES384", "ES384")]
    [InlineData(DpopMode.Opportunistic, "RS256,PS256", "PS256")]
    [InlineData(DpopMode.Opportunistic, "EdDSA", null)]
    [InlineData(DpopMode.Required, "EdDSA", "ES256")]
    [InlineData(DpopMode.Off, "ES256", null)]
    public void The_key_algorithm_is_ES256_when_listed_else_the_first_supported_one_the_server_lists(DpopMode mode, string listed, string? expected)
    {
        var provider = new Provider(ProviderName.Parse("p"), new ProviderOptions { Issuer = "https://as.example", ClientId = "broker", Dpop = mode }, new Uri("https://broker.example/oauth2/callback/p"));
        var metadata = new AuthorizationServerMetadata("https://as.example", new Uri("https://as.example/authorize"), new Uri("https://as.example/token"),
            null, ["S256"], true) { DpopSigningAlgorithms = listed.Split(',', StringSplitOptions.RemoveEmptyEntries) };

        Assert.Equal(expected, DpopUse.Algorithm(provider, metadata));
        Assert.Equal(expected is not null, DpopUse.Applies(provider, metadata));
    }

    [Theory]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("PS256")]
    [InlineData("RS256")]
    public async Task A_server_that_lists_only_one_other_algorithm_gets_proofs_in_it_and_binds_tokens_to_that_key(string algorithm)
    {
        await using var server = await DpopAuthorizationServer.StartAsync(requireNonce: true, proofAlgorithms: [algorithm]);
        var (tokens, provider, metadata) = await ClientAsync(server, DpopMode.Opportunistic);
        Assert.Equal([algorithm], metadata.DpopSigningAlgorithms);
        var keys = new List<DpopKey>();
        var prover = new LocalDpopProver(alg => keys.FirstOrDefault() ?? Made(keys, alg), TimeProvider.System);

        var outcome = await tokens.ClientCredentialsAsync(provider, ScopeSet.Parse(["api"]), "", dpop: prover);

        var issued = Assert.IsType<TokenEndpointOutcome.Issued>(outcome);
        Assert.Equal("DPoP", issued.Tokens.TokenType, ignoreCase: true);
        var key = Assert.Single(keys);
        Assert.Equal(algorithm, key.Algorithm);
        var introspection = await server.IntrospectAsync(issued.Tokens.AccessToken);
        Assert.Equal(key.Thumbprint, introspection.GetProperty("cnf").GetProperty("jkt").GetString());
        var stats = await server.StatsAsync();
        Assert.All(stats.ProofAlgorithms, alg => Assert.Equal(algorithm, alg));
        Assert.False(stats.Errors.ContainsKey("invalid_dpop_proof"));
        key.Dispose();
    }

    [Fact]
    public async Task Required_refuses_a_bearer_answer_and_gives_the_token_back()
    {
        await using var server = await DpopAuthorizationServer.StartAsync(requireNonce: false, dpop: false);
        var (tokens, provider, metadata) = await ClientAsync(server, DpopMode.Required);
        Assert.Empty(metadata.DpopSigningAlgorithms);
        using var key = DpopKey.Generate();

        var outcome = await tokens.ClientCredentialsAsync(provider, ScopeSet.Parse(["api"]), "", dpop: new LocalDpopProver(key, TimeProvider.System));

        Assert.Equal(new TokenEndpointOutcome.Rejected(DpopUse.NotBoundError, 200), outcome);
        var stats = await server.StatsAsync();
        Assert.Equal((1, 1), (stats.Issued, stats.Revoked));
    }

    [Fact]
    public async Task Opportunistic_against_a_server_without_DPoP_sends_no_proof_and_keeps_the_bearer_token()
    {
        await using var server = await DpopAuthorizationServer.StartAsync(requireNonce: false, dpop: false);
        var (tokens, provider, _) = await ClientAsync(server, DpopMode.Opportunistic);
        using var key = DpopKey.Generate();

        var outcome = await tokens.ClientCredentialsAsync(provider, ScopeSet.Parse(["api"]), "", dpop: new LocalDpopProver(key, TimeProvider.System));

        var issued = Assert.IsType<TokenEndpointOutcome.Issued>(outcome);
        Assert.Equal("Bearer", issued.Tokens.TokenType, ignoreCase: true);
        var stats = await server.StatsAsync();
        Assert.Equal((0, 0), (stats.ProofIds.Count, stats.Revoked));
    }

    private static DpopKey Made(List<DpopKey> keys, string algorithm)
    {
        var key = DpopKey.Generate(algorithm);
        keys.Add(key);
        return key;
    }

    private static async Task<(ITokenEndpoint, Provider, AuthorizationServerMetadata)> ClientAsync(DpopAuthorizationServer server, DpopMode mode)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Broker:Http:PublicBaseUrl"] = "http://127.0.0.1:9/",
            ["Broker:Providers:dpop:Issuer"] = server.IssuerString,
            ["Broker:Providers:dpop:Dpop"] = mode.ToString(),
            ["Broker:Providers:dpop:ClientId"] = DpopAuthorizationServer.ClientId,
            ["Broker:Providers:dpop:ClientSecret"] = DpopAuthorizationServer.ClientSecret,
        };
        var services = new ServiceCollection().AddLogging()
            .AddBrokerOAuth(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();
        var provider = services.GetRequiredService<ProviderRegistry>().Get(ProviderName.Parse("dpop"));
        var store = services.GetRequiredService<MetadataStore>();
        var metadata = await store.GetAsync(provider);
        return (new TokenEndpoint(store, services.GetRequiredService<TokenEndpointClient>()), provider, metadata);
    }
}
