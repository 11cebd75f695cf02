using Broker.Silo.Hosting;
using Broker.Silo.Storage;
using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.Events;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Silo.Tests.Events;

/// <summary>
/// The silo delivering a webhook is SIGKILLed mid-delivery (a separate process): its lease in the PostgreSQL outbox
/// expires and another silo delivers the event, again, under the same webhook-id (receivers dedupe by it).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DeliveryTakeoverTests(ClusterInfrastructure infrastructure)
{
    private static readonly string ApiKey = Broker.Silo.Callers.ApiKeyHash.NewKey();

    [Fact]
    public async Task A_silo_killed_mid_delivery_leaves_the_event_to_another_silo_with_the_same_id()
    {
        await using var hook = await WebhookReceiver.CreateAsync();
        hook.Holding = true;
        var database = await infrastructure.Postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database);
        var encryptionKey = BrokerSiloSettings.NewEncryptionKey();
        var shared = ProviderSettings.Merge(ProviderSettings.For("test", infrastructure.Server), FamilyEventsTests.Caller("hooked", ApiKey, "*", hook), new()
        {
            ["Broker:Events:Delivery:PollInterval"] = "00:00:00.100",
            ["Broker:Events:Delivery:Lease"] = "00:00:03",
            ["Broker:Events:Delivery:RequestTimeout"] = "00:00:02",
        });
        var doomedSettings = ProviderSettings.Merge(shared, new()
        {
            ["Broker:Mode"] = "Cluster",
            ["Broker:Cluster:ClusterId"] = $"c{Guid.NewGuid():N}",
            ["Broker:Cluster:ServiceId"] = "events",
            ["Broker:Cluster:Redis"] = infrastructure.Redis.Configuration,
            ["Broker:Cluster:PostgreSql"] = database,
            ["Broker:Encryption:Keys:0:Id"] = "test",
            ["Broker:Encryption:Keys:0:Key"] = encryptionKey,
        });
        await using var doomed = await SiloProcess.StartAsync(doomedSettings);
        await infrastructure.Server.AddRedirectUriAsync("broker", doomed.RedirectUri("test"));

        await AuthorizationFlow.AuthorizeAsync(doomed, "test", "takeover", "api.read");
        await Eventually.WaitUntilAsync(() => hook.Received.Count == 1, "the doomed silo's delivery to reach the receiver");
        doomed.Kill();
        hook.Release();

        // Another silo on the same database (a cluster of its own, so no wait for the dead one's membership to lapse).
        await using var survivor = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = BrokerMode.Cluster,
            PostgreSql = database,
            Redis = infrastructure.Redis.Configuration,
            ClusterId = $"c{Guid.NewGuid():N}",
            ServiceId = "events",
            EncryptionKey = encryptionKey,
            Settings = shared,
        });
        await Eventually.WaitUntilAsync(() => hook.Received.Count >= 2, "the survivor's delivery once the dead silo's lease expired");
        await Eventually.WaitUntilAsync(async () => await DeliveredAsync(database) == 1, "the survivor to record the delivery");

        var received = hook.Received.ToList();
        Assert.Equal(2, received.Count);
        Assert.All(received, r => Assert.True(r.Verified));
        Assert.Single(received.Select(r => r.Id).Distinct());
        Assert.Equal("family.authorized", received[1].Type);
    }

    private static async Task<long> DeliveredAsync(string database)
    {
        await using var source = Npgsql.NpgsqlDataSource.Create(database);
        await using var count = source.CreateCommand("SELECT count(*) FROM broker_event_deliveries WHERE state = 'delivered'");
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
