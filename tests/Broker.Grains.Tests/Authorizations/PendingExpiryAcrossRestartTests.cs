using System.Diagnostics;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Npgsql;

namespace Broker.Grains.Tests.Authorizations;

/// <summary>
/// A pending authorization (PKCE verifier, nonce) nobody completes must not stay in the database for ever, even
/// when the silo that began it stops before it expires: its expiry is a durable reminder, which a new silo of
/// the cluster reads back from Redis.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PendingExpiryAcrossRestartTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);
    private TestAuthorizationServer _server = null!;
    private ClusterSpec _spec = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server), new()
            {
                ["Broker:Authorizations:PendingLifetime"] = Lifetime.ToString(),
                ["Broker:Reminders:MinimumReminderPeriod"] = "00:00:01",
            }));
    }

    [Fact]
    public async Task An_abandoned_authorization_is_removed_after_its_silo_stopped()
    {
        await using (var first = await _spec.StartSiloAsync())
        {
            await first.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = "test", Subject = "abandoned", Scopes = { "api.read" } });
            Assert.Equal(1, await CountPendingAsync());
        }

        await using var second = await _spec.StartSiloAsync();
        var waited = Stopwatch.StartNew();
        while (await CountPendingAsync() > 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "the pending authorization is still stored 60 s after it expired");
            await Task.Delay(250);
        }
    }

    private async Task<long> CountPendingAsync()
    {
        await using var connection = new NpgsqlConnection(_spec.Database);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM orleansstorage WHERE graintypestring = 'pending-authorization' AND payloadbinary IS NOT NULL", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();
}
