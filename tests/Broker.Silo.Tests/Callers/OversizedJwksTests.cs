using System.Security.Claims;
using System.Security.Cryptography;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Silo.Tests.Callers;

/// <summary>
/// The workload JWT issuer's discovery document and JWKS are read up to <c>Broker:Authentication:Jwt:MaxResponseBytes</c>
/// (64 KiB by default). A fault endpoint, written for this: a stand-in issuer whose JWKS carries padding of a chosen
/// size; a valid JWT is refused while the JWKS is over the limit, and accepted when it is within it.
/// </summary>
public sealed class OversizedJwksTests : IAsyncLifetime
{
    private const string Audience = "urn:broker";
    private readonly RSA _rsa = RSA.Create(2048);
    private WebApplication _issuerApp = null!;
    private string _issuer = null!;
    private int _padding;
    private TestAuthorizationServer _server = null!;

    public async Task InitializeAsync()
    {
        (_issuerApp, var address) = await LoopbackWebApp.StartAsync(app =>
        {
            app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = _issuer,
                ["jwks_uri"] = $"{_issuer}jwks",
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            }));
            app.MapGet("/jwks", () =>
            {
                var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_rsa.ExportParameters(false)) { KeyId = "k" });
                return Results.Json(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } }, padding = new string('x', _padding) });
            });
        });
        _issuer = address.AbsoluteUri;
        _server = await TestAuthorizationServer.StartAsync();
    }

    private string Mint() => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = _issuer,
        Audience = Audience,
        Subject = new ClaimsIdentity([new Claim("sub", "workload-a")]),
        Expires = DateTime.UtcNow.AddMinutes(10),
        SigningCredentials = new SigningCredentials(new RsaSecurityKey(_rsa) { KeyId = "k" }, SecurityAlgorithms.RsaSha256),
    });

    /// <summary>A new silo trusting the stand-in issuer (so nothing is cached from an earlier read); the answer to one call with a valid JWT.</summary>
    private async Task<StatusCode> CallWithJwtAsync(int padding)
    {
        _padding = padding;
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", _server), new()
            {
                ["Broker:Authentication:Jwt:Authority"] = _issuer,
                ["Broker:Authentication:Jwt:Audience"] = Audience,
                ["Broker:Authentication:Jwt:RequireHttpsMetadata"] = "false",
                ["Broker:Callers:billing:WorkloadSubjects:0"] = "workload-a",
                ["Broker:Callers:billing:Providers:0"] = "*",
                ["Broker:Callers:billing:Subjects:0"] = "*",
            }),
        });
        var client = new TokenBroker.TokenBrokerClient(silo.Channel.WithBearer(Mint()));
        try
        {
            await client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "jwks-probe" });
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    [Fact]
    public async Task A_jwks_over_the_limit_is_refused_and_one_within_it_is_used()
    {
        Assert.Equal(StatusCode.Unauthenticated, await CallWithJwtAsync(padding: 70_000));
        Assert.Equal(StatusCode.OK, await CallWithJwtAsync(padding: 30_000));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _issuerApp.DisposeAsync();
        _rsa.Dispose();
    }
}
