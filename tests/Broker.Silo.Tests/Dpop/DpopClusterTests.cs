using System.Net;
using System.Text;
using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.DpopServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Silo.Tests.Dpop;

/// <summary>
/// A DPoP-bound family on three silos (PostgreSQL, Redis): after its access token expired, 500 concurrent callers spread
/// over the silos cause one refresh, and every proof they get is signed by the family's one key for the token they got.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DpopClusterTests(ClusterInfrastructure infrastructure) : IAsyncLifetime
{
    private DpopAuthorizationServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await DpopAuthorizationServer.StartAsync(requireNonce: true, accessTokenLifetime: TimeSpan.FromSeconds(6));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Concurrent_callers_on_three_silos_after_expiry_cause_one_refresh_and_every_proof_verifies()
    {
        var startSilo = await infrastructure.NewClusterAsync(settings: DpopBrokerTests.SettingsFor(_server));
        await using var a = await startSilo();
        await using var b = await startSilo();
        await using var c = await startSilo();
        BrokerSilo[] silos = [a, b, c];

        var begun = await a.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = "dpop", Subject = "carol", Scopes = { "openid", "api" } });
        using (var page = await AuthorizationFlow.DeliverAsync(a, await _server.LogInAsync(new Uri(begun.AuthorizationUrl), "carol")))
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var first = await b.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "dpop", Subject = "carol", MinTtlSeconds = 1 });
        var jkt = (await _server.IntrospectAsync(first.AccessToken_)).GetProperty("cnf").GetProperty("jkt").GetString();

        await Task.Delay(first.ExpiresAt.ToDateTimeOffset() - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300));
        var before = await _server.StatsAsync();
        var url = "https://api.example/orders";

        var results = await Concurrently.RunAsync(500, async i =>
        {
            var silo = silos[i % silos.Length];
            var token = await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "dpop", Subject = "carol", MinTtlSeconds = 1 });
            var proof = await silo.Client.CreateProofAsync(new CreateProofRequest { Provider = "dpop", Subject = "carol", HttpMethod = "GET", Url = url });
            return (Token: token.AccessToken_, proof.Proof);
        });

        var after = await _server.StatsAsync();
        Assert.Equal(1, after.IssuedFor("refresh_token") - before.IssuedFor("refresh_token"));
        var refreshed = Assert.Single(results.Select(r => r.Token).Distinct());
        Assert.NotEqual(first.AccessToken_, refreshed);
        Assert.Equal(jkt, (await _server.IntrospectAsync(refreshed)).GetProperty("cnf").GetProperty("jkt").GetString());

        var handler = new JsonWebTokenHandler();
        foreach (var (token, proof) in results)
        {
            var jwk = new JsonWebKey(System.Text.Json.JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(proof.Split('.')[0])).RootElement.GetProperty("jwk").GetRawText());
            Assert.Equal(jkt, Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint()));
            var validated = await handler.ValidateTokenAsync(proof, new TokenValidationParameters
            {
                IssuerSigningKey = jwk, ValidateIssuer = false, ValidateAudience = false, ValidateLifetime = false,
                RequireExpirationTime = false, ValidTypes = ["dpop+jwt"],
            });
            Assert.True(validated.IsValid, validated.Exception?.Message);
            Assert.Equal(DpopBrokerTests.Hash(token), validated.Claims["ath"]);
        }
        Assert.Equal(results.Length, results.Select(r => new JsonWebToken(r.Proof).Id).Distinct().Count());

        // The key is in the family's stored row only sealed: no row of the database holds it in clear.
        var key = await DpopKeyMaterial.OfFamilyAsync(a, new Broker.Abstractions.Identity.FamilyKey(
            Broker.Abstractions.Identity.ProviderName.Parse("dpop"), Broker.Abstractions.Identity.Subject.Parse("carol")));
        var rows = await StoredRowsAsync(infrastructure.LastDatabase!);
        Assert.Contains(rows, r => r.Length > 0);
        Assert.DoesNotContain(rows, row => key.Bytes.Any(secret => row.AsSpan().IndexOf(secret) >= 0)
            || key.Texts.Any(text => Encoding.ASCII.GetString(row).Contains(text, StringComparison.OrdinalIgnoreCase)));
    }

    private static async Task<List<byte[]>> StoredRowsAsync(string database)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT payloadbinary FROM orleansstorage WHERE payloadbinary IS NOT NULL", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<byte[]>();
        while (await reader.ReadAsync()) rows.Add((byte[])reader[0]);
        return rows;
    }
}
