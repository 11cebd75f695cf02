using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Testing;
using Broker.Testing.DpopServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Silo.Tests.Dpop;

/// <summary>
/// DPoP (RFC 9449) through the broker against node oidc-provider, which requires a server nonce on every proof and
/// checks each one itself: client credentials, the code flow with dpop_jkt, refreshes with proofs, and CreateProof.
/// A bound token's cnf.jkt (introspection) is the thumbprint of the key the broker holds for it.
/// </summary>
public sealed class DpopBrokerTests : IAsyncLifetime
{
    private const string Provider = "dpop";
    private DpopAuthorizationServer _server = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await DpopAuthorizationServer.StartAsync(requireNonce: true);
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings { Settings = SettingsFor(_server) });
    }

    public static Dictionary<string, string?> SettingsFor(DpopAuthorizationServer server) => new()
    {
        [$"Broker:Providers:{Provider}:Issuer"] = server.IssuerString,
        [$"Broker:Providers:{Provider}:ClientId"] = DpopAuthorizationServer.ClientId,
        [$"Broker:Providers:{Provider}:ClientSecret"] = DpopAuthorizationServer.ClientSecret,
        [$"Broker:Providers:{Provider}:Scopes:0"] = "offline_access",
        [$"Broker:Providers:{Provider}:Dpop"] = "Required",
        ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
    };

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_client_token_is_bound_to_the_key_its_proofs_are_signed_with()
    {
        var token = await _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = Provider, Scopes = { "api" } });
        Assert.Equal("DPoP", token.TokenType, ignoreCase: true);
        var jkt = await BoundKeyOf(token.AccessToken_);

        var proof = await _silo.Client.CreateProofAsync(new CreateProofRequest
        {
            Provider = Provider,
            ClientToken = new ClientTokenSelector { Scopes = { "api" } },
            HttpMethod = "GET",
            Url = "https://api.example/items?page=2",
            Nonce = "nonce-1",
        });

        var jwt = new JsonWebToken(proof.Proof);
        Assert.Equal(jkt, ThumbprintOf(proof.Proof));
        Assert.Equal("dpop+jwt", jwt.Typ);
        Assert.Equal(("GET", "https://api.example/items", "nonce-1"), (jwt.GetClaim("htm").Value, jwt.GetClaim("htu").Value, jwt.GetClaim("nonce").Value));
        Assert.Equal(Hash(token.AccessToken_), jwt.GetClaim("ath").Value);
        Assert.Equal(Hash(token.AccessToken_), proof.AccessTokenHash);
        Assert.True(proof.ExpiresAt.ToDateTimeOffset() - DateTimeOffset.UtcNow <= TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task The_code_flow_binds_the_family_to_its_key_and_every_refresh_keeps_it_bound()
    {
        var begun = await _silo.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = Provider, Subject = "alice", Scopes = { "openid", "api" } });
        var dpopJkt = QueryHelpers.ParseQuery(new Uri(begun.AuthorizationUrl).Query)["dpop_jkt"].Single();
        using (var page = await AuthorizationFlow.DeliverAsync(_silo, await _server.LogInAsync(new Uri(begun.AuthorizationUrl), "alice")))
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        var first = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = Provider, Subject = "alice" });
        Assert.Equal("DPoP", first.TokenType, ignoreCase: true);
        Assert.Equal(dpopJkt, await BoundKeyOf(first.AccessToken_));

        // The second and third refresh too: each sends the rotated refresh token with a proof of the same key.
        var before = await _server.StatsAsync();
        var tokens = new List<string> { first.AccessToken_ };
        for (var i = 0; i < 3; i++)
        {
            var refreshed = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = Provider, Subject = "alice", ForceRefresh = true });
            Assert.Equal("refresh", refreshed.Source);
            Assert.Equal(dpopJkt, await BoundKeyOf(refreshed.AccessToken_));
            tokens.Add(refreshed.AccessToken_);
        }
        var after = await _server.StatsAsync();
        Assert.Equal(3, after.IssuedFor("refresh_token") - before.IssuedFor("refresh_token"));
        Assert.Equal(4, tokens.Distinct().Count());
        Assert.DoesNotContain("invalid_grant", after.Errors.Keys);
        Assert.DoesNotContain("invalid_dpop_proof", after.Errors.Keys);
        Assert.Equal(after.ProofIds.Count, after.ProofIds.Distinct().Count());

        var proof = await _silo.Client.CreateProofAsync(new CreateProofRequest { Provider = Provider, Subject = "alice", HttpMethod = "POST", Url = "https://api.example/x" });
        Assert.Equal(dpopJkt, ThumbprintOf(proof.Proof));
        Assert.Equal(Hash(tokens[^1]), new JsonWebToken(proof.Proof).GetClaim("ath").Value);
    }

    [Fact]
    public async Task CreateProof_answers_over_json_transcoding_with_a_proof_for_the_held_token()
    {
        var token = await _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = Provider, Scopes = { "api" } });
        using var h2c = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        h2c.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestCallers.AdminApiKey);
        var route = $"http://127.0.0.1:{_silo.GrpcPort}/v1/providers/{Provider}:dpopProof";

        using var answer = await h2c.PostAsync(route, Json(new { clientToken = new { scopes = new[] { "api" } }, httpMethod = "DELETE", url = "https://api.example/items/7?x=1" }));
        using var refused = await h2c.PostAsync(route, Json(new { clientToken = new { scopes = new[] { "api" } }, httpMethod = "GET", url = "ftp://api.example/" }));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
        var proof = body.GetProperty("proof").GetString()!;
        Assert.Equal(await BoundKeyOf(token.AccessToken_), ThumbprintOf(proof));
        Assert.Equal(Hash(token.AccessToken_), body.GetProperty("accessTokenHash").GetString());
        var jwt = new JsonWebToken(proof);
        Assert.Equal(("DELETE", "https://api.example/items/7"), (jwt.GetClaim("htm").Value, jwt.GetClaim("htu").Value));
        Assert.True(body.TryGetProperty("expiresAt", out _));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_proof_for_a_token_that_is_not_bound_or_a_bad_url_is_refused_with_a_typed_error()
    {
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "INVALID_STATE", () => _silo.Client.CreateProofAsync(new CreateProofRequest
        {
            Provider = Provider, Subject = "nobody", HttpMethod = "GET", Url = "https://api.example/",
        }).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT", () => _silo.Client.CreateProofAsync(new CreateProofRequest
        {
            Provider = Provider, Subject = "alice", HttpMethod = "GET", Url = "ftp://api.example/",
        }).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT", () => _silo.Client.CreateProofAsync(new CreateProofRequest
        {
            Provider = Provider, Subject = "alice", HttpMethod = "G T", Url = "https://api.example/",
        }).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT", () => _silo.Client.CreateProofAsync(new CreateProofRequest
        {
            Provider = Provider, HttpMethod = "GET", Url = "https://api.example/",
        }).ResponseAsync);
    }

    private async Task<string> BoundKeyOf(string accessToken)
    {
        var introspection = await _server.IntrospectAsync(accessToken);
        Assert.True(introspection.GetProperty("active").GetBoolean());
        Assert.True(introspection.TryGetProperty("cnf", out var cnf), "the token is not DPoP-bound (no cnf).");
        return cnf.GetProperty("jkt").GetString()!;
    }

    public static string ThumbprintOf(string proof)
    {
        var header = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(proof.Split('.')[0])).RootElement;
        return Base64UrlEncoder.Encode(new JsonWebKey(header.GetProperty("jwk").GetRawText()).ComputeJwkThumbprint());
    }

    public static string Hash(string accessToken) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
}
