using Broker.Testing;
using System.Text;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Npgsql;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;

namespace Broker.Silo.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class ClusterPersistenceTests(ClusterInfrastructure infrastructure)
{
    [Fact]
    public async Task Family_survives_deactivation_and_a_full_restart_and_is_served_by_another_silo()
    {
        var startSilo = await infrastructure.NewClusterAsync();
        var a = await startSilo();
        var b = await startSilo();
        await AuthorizationFlow.AuthorizeAsync(a, "test", "durable-user", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "durable-user" };
        var original = await a.Client.GetAccessTokenAsync(request);

        // Deactivate every grain: the next call must read the family back from PostgreSQL.
        await a.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var afterDeactivation = await b.Client.GetAccessTokenAsync(request);
        TokenAssert.Same(original.AccessToken_, afterDeactivation.AccessToken_);

        await a.StopAsync();
        await b.StopAsync();
        await using var c = await startSilo();

        var afterRestart = await c.Client.GetAccessTokenAsync(request);
        TokenAssert.Same(original.AccessToken_, afterRestart.AccessToken_);
        Assert.Equal("cache", afterRestart.Source);

        // The refresh token survived too, and it is the current one: the server accepts it without reuse.
        var rejections = infrastructure.Server.Stats.RefreshTokenRejections;
        var refreshed = await c.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "durable-user", ForceRefresh = true });
        Assert.Equal("refresh", refreshed.Source);
        TokenAssert.Different(original.AccessToken_, refreshed.AccessToken_);
        Assert.Equal(rejections, infrastructure.Server.Stats.RefreshTokenRejections);
        Assert.True(await infrastructure.Server.IsActiveAsync(refreshed.AccessToken_));
    }

    [Fact]
    public async Task Client_token_is_served_by_every_silo_of_the_cluster()
    {
        var startSilo = await infrastructure.NewClusterAsync();
        await using var a = await startSilo();
        await using var b = await startSilo();
        var request = new GetClientTokenRequest { Provider = "test", Scopes = { "api.read" } };

        var fromA = await a.Client.GetClientTokenAsync(request);
        var fromB = await b.Client.GetClientTokenAsync(request);

        TokenAssert.Same(fromA.AccessToken_, fromB.AccessToken_);
    }

    [Fact]
    public async Task Stored_rows_hold_no_access_refresh_or_id_token_in_clear()
    {
        var startSilo = await infrastructure.NewClusterAsync();
        await using var silo = await startSilo();
        var issuedBefore = infrastructure.Server.Stats.Secrets.Count;
        // OpenID Connect, so the family also receives an ID token; then one rotation, so it held two refresh tokens.
        await AuthorizationFlow.AuthorizeAsync(silo, "test", "encrypted-user", "openid", "api.read");
        await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "encrypted-user", ForceRefresh = true });
        var token = await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "encrypted-user" });
        var clientToken = await silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test" });
        // Every token the server issued since (the cluster fixture's server is shared: others' tokens are searched too).
        var issued = infrastructure.Server.Stats.Secrets.Skip(issuedBefore)
            .Where(s => s.Kind is SecretKind.AccessToken or SecretKind.RefreshToken or SecretKind.IdToken).ToList();
        Assert.True(issued.Count(s => s.Kind == SecretKind.RefreshToken) >= 2 && issued.Any(s => s.Kind == SecretKind.IdToken),
            $"issued: {string.Join(", ", issued)}");
        var connectionString = silo.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Broker.Silo.Hosting.ClusterModeOptions>>().Value.PostgreSql;

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT payloadbinary FROM orleansstorage WHERE payloadbinary IS NOT NULL", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = 0;
        while (await reader.ReadAsync())
        {
            rows++;
            var payload = (byte[])reader[0];
            foreach (var secret in issued.Select(s => s.Value).Append(token.AccessToken_).Append(clientToken.AccessToken_))
            {
                // A long slice of each token is enough: the JWT header alone would also match unrelated JWTs.
                var needle = Encoding.UTF8.GetBytes(secret[^Math.Min(40, secret.Length)..]);
                Assert.True(payload.AsSpan().IndexOf(needle) < 0, $"a stored row holds token {TokenAssert.Fingerprint(secret)} in clear");
            }
        }
        Assert.True(rows >= 2, $"expected the family and the client token to be stored, found {rows} rows");
    }
}
