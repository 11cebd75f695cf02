using System.Net;
using Broker.Testing;
using Broker.Testing.DpopServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Silo.Tests.Dpop;

/// <summary>
/// The provider's DPoP mode through a silo, against node oidc-provider: <c>Opportunistic</c> binds when the metadata
/// lists an algorithm (here only ES384, so the family's key is ES384) and stays bearer when the server has no DPoP;
/// <c>Required</c> refuses a bearer answer and gives the tokens back.
/// </summary>
public sealed class DpopModeTests : IAsyncLifetime
{
    private DpopAuthorizationServer _es384 = null!;
    private DpopAuthorizationServer _bearerOnly = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _es384 = await DpopAuthorizationServer.StartAsync(requireNonce: true, proofAlgorithms: ["ES384"]);
        _bearerOnly = await DpopAuthorizationServer.StartAsync(requireNonce: false, dpop: false);
        var settings = new Dictionary<string, string?> { ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00" };
        Add(settings, "dpop", _es384, "Opportunistic");
        Add(settings, "plain", _bearerOnly, "Opportunistic");
        Add(settings, "strict", _bearerOnly, "Required");
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings { Settings = settings });
    }

    private static void Add(Dictionary<string, string?> settings, string name, DpopAuthorizationServer server, string mode)
    {
        settings[$"Broker:Providers:{name}:Issuer"] = server.IssuerString;
        settings[$"Broker:Providers:{name}:ClientId"] = DpopAuthorizationServer.ClientId;
        settings[$"Broker:Providers:{name}:ClientSecret"] = DpopAuthorizationServer.ClientSecret;
        settings[$"Broker:Providers:{name}:Scopes:0"] = "offline_access";
        settings[$"Broker:Providers:{name}:Dpop"] = mode;
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _es384.DisposeAsync();
        await _bearerOnly.DisposeAsync();
    }

    [Fact]
    public async Task Opportunistic_binds_the_family_to_a_key_in_the_one_algorithm_the_server_lists()
    {
        var (url, page) = await AuthorizeAsync("dpop", _es384);
        Assert.Equal(HttpStatusCode.OK, page);
        var dpopJkt = QueryHelpers.ParseQuery(url.Query)["dpop_jkt"].Single();

        var first = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "dpop", Subject = "alice" });
        var refreshed = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "dpop", Subject = "alice", ForceRefresh = true });

        Assert.Equal(("DPoP", "refresh"), (refreshed.TokenType, refreshed.Source));
        foreach (var token in new[] { first.AccessToken_, refreshed.AccessToken_ })
            Assert.Equal(dpopJkt, (await _es384.IntrospectAsync(token)).GetProperty("cnf").GetProperty("jkt").GetString());
        var stats = await _es384.StatsAsync();
        Assert.NotEmpty(stats.ProofAlgorithms);
        Assert.All(stats.ProofAlgorithms, alg => Assert.Equal("ES384", alg));
        var proof = await _silo.Client.CreateProofAsync(new CreateProofRequest { Provider = "dpop", Subject = "alice", HttpMethod = "GET", Url = "https://api.example/" });
        Assert.Equal("ES384", new JsonWebToken(proof.Proof).Alg);
        Assert.Equal(dpopJkt, DpopBrokerTests.ThumbprintOf(proof.Proof));
    }

    [Fact]
    public async Task Opportunistic_against_a_server_without_DPoP_asks_for_no_binding_and_serves_bearer_tokens()
    {
        var (url, page) = await AuthorizeAsync("plain", _bearerOnly);
        Assert.Equal(HttpStatusCode.OK, page);
        Assert.False(QueryHelpers.ParseQuery(url.Query).ContainsKey("dpop_jkt"));

        var token = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "plain", Subject = "alice" });
        var client = await _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "plain", Scopes = { "api" } });

        Assert.Equal(("Bearer", "Bearer"), (token.TokenType, client.TokenType));
        Assert.Empty((await _bearerOnly.StatsAsync()).ProofIds);
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "INVALID_STATE", () => _silo.Client.CreateProofAsync(new CreateProofRequest
        {
            Provider = "plain", Subject = "alice", HttpMethod = "GET", Url = "https://api.example/",
        }).ResponseAsync);
    }

    [Fact]
    public async Task Required_refuses_bearer_answers_to_the_code_flow_and_client_credentials_and_gives_the_tokens_back()
    {
        var before = await _bearerOnly.StatsAsync();

        var (_, page) = await AuthorizeAsync("strict", _bearerOnly, subject: "bob");
        var client = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "PROVIDER_REJECTED",
            () => _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "strict", Scopes = { "api" } }).ResponseAsync);

        Assert.NotEqual(HttpStatusCode.OK, page);
        Assert.Equal("dpop_not_bound", client.GetDetail<Google.Rpc.ErrorInfo>().Metadata["detail"]);
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "AUTHORIZATION_REQUIRED", () => _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest
        {
            Provider = "strict", Subject = "bob",
        }).ResponseAsync);
        var after = await _bearerOnly.StatsAsync();
        Assert.Equal((2, 2), (after.Issued - before.Issued, after.Revoked - before.Revoked));
    }

    private async Task<(Uri Url, HttpStatusCode Page)> AuthorizeAsync(string provider, DpopAuthorizationServer server, string subject = "alice")
    {
        var begun = await _silo.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = provider, Subject = subject, Scopes = { "openid", "api" } });
        var url = new Uri(begun.AuthorizationUrl);
        using var page = await AuthorizationFlow.DeliverAsync(_silo, await server.LogInAsync(url, subject));
        return (url, page.StatusCode);
    }
}
