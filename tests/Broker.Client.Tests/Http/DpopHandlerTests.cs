using System.Net;
using System.Net.Http.Headers;
using Broker.OAuth.Dpop;
using Broker.Testing.DpopServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Client.Tests.Http;

/// <summary>
/// The HttpClient handler with a DPoP-bound family token (RFC 9449). The protected API is node oidc-provider's own
/// userinfo endpoint: its DPoP validation (signature, htm/htu, ath, the token's cnf.jkt, jti replay, its nonce)
/// decides, not code written here.
/// </summary>
public sealed class DpopHandlerTests : IAsyncLifetime
{
    private const string Provider = "dpop";
    private DpopAuthorizationServer _server = null!;
    private BrokerSilo _silo = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _server = await DpopAuthorizationServer.StartAsync(requireNonce: true);
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = new()
            {
                [$"Broker:Providers:{Provider}:Issuer"] = _server.IssuerString,
                [$"Broker:Providers:{Provider}:ClientId"] = DpopAuthorizationServer.ClientId,
                [$"Broker:Providers:{Provider}:ClientSecret"] = DpopAuthorizationServer.ClientSecret,
                [$"Broker:Providers:{Provider}:Dpop"] = "Required",
            },
        });
        var begun = await _silo.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = Provider, Subject = "alice", Scopes = { "openid", "api" } });
        using (var page = await AuthorizationFlow.DeliverAsync(_silo, await _server.LogInAsync(new Uri(begun.AuthorizationUrl), "alice")))
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        var services = new ServiceCollection();
        services.AddBrokerClient(o =>
        {
            o.Address = new Uri($"http://127.0.0.1:{_silo.GrpcPort}");
            o.ApiKey = TestCallers.AdminApiKey;
        });
        services.AddHttpClient("api", c => c.BaseAddress = new Uri(_server.IssuerString + "/"))
            .AddBrokerAccessToken(Provider, (_, request) => request.Headers.GetValues("X-User").Single());
        _services = services.BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Calls_through_the_handler_carry_a_fresh_proof_and_answer_the_APIs_nonce_challenge()
    {
        var api = _services.GetRequiredService<IHttpClientFactory>().CreateClient("api");
        var before = await _server.StatsAsync();
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "me");
            request.Headers.Add("X-User", "alice");
            using var response = await api.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {response.Headers.WwwAuthenticate}");
            Assert.Contains("\"sub\":\"alice\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // The nonce challenge was answered with a new proof, not taken for a refused token (no forced refresh).
        Assert.Equal(before.IssuedFor("refresh_token"), (await _server.StatsAsync()).IssuedFor("refresh_token"));
    }

    [Fact]
    public async Task The_API_refuses_the_token_without_a_proof_as_a_bearer_token_with_another_keys_proof_and_with_a_replayed_proof()
    {
        var token = (await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = Provider, Subject = "alice" })).AccessToken_;
        using var http = new HttpClient();
        var userinfo = _server.UserinfoEndpoint;

        // The API's nonce, from its challenge to a proof without one.
        var unNonced = await ProofAsync(null);
        using (var challenge = await CallAsync(http, userinfo, "DPoP", token, unNonced.Proof))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
            Assert.Contains("use_dpop_nonce", challenge.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
        using var nonceHolder = await CallAsync(http, userinfo, "DPoP", token, (await ProofAsync(null)).Proof);
        var nonce = nonceHolder.Headers.GetValues("DPoP-Nonce").Single();

        var proof = (await ProofAsync(nonce)).Proof;
        using (var accepted = await CallAsync(http, userinfo, "DPoP", token, proof))
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        // Refusals are 401 invalid_token, or 400 invalid_request where the request lacks what a bound token needs.
        using (var replayed = await CallAsync(http, userinfo, "DPoP", token, proof))
            AssertRefused(replayed);
        using (var withoutProof = await CallAsync(http, userinfo, "DPoP", token, proof: null))
            AssertRefused(withoutProof);
        using (var asBearer = await CallAsync(http, userinfo, "Bearer", token, proof: null))
            AssertRefused(asBearer);
        using var otherKey = DpopKey.Generate();
        var foreign = DpopProof.Create(otherKey, "GET", userinfo, DateTimeOffset.UtcNow, nonce, token);
        using (var withOtherKey = await CallAsync(http, userinfo, "DPoP", token, foreign))
            AssertRefused(withOtherKey);

        // The same path with the broker's key still works: the refusals were for the proofs, not the token.
        using (var again = await CallAsync(http, userinfo, "DPoP", token, (await ProofAsync(nonce)).Proof))
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        Task<CreateProofResponse> ProofAsync(string? withNonce) => _silo.Client.CreateProofAsync(new CreateProofRequest
        {
            Provider = Provider, Subject = "alice", HttpMethod = "GET", Url = userinfo.AbsoluteUri, Nonce = withNonce ?? "",
        }).ResponseAsync;
    }

    private static void AssertRefused(HttpResponseMessage response) =>
        Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest,
            $"{(int)response.StatusCode} {response.Headers.WwwAuthenticate}");

    private static Task<HttpResponseMessage> CallAsync(HttpClient http, Uri url, string scheme, string token, string? proof)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
        if (proof is not null) request.Headers.Add("DPoP", proof);
        return http.SendAsync(request);
    }
}
