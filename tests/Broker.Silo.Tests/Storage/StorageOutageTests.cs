using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Storage;

/// <summary>
/// PostgreSQL down under a two-silo cluster (seen in the soak, docs/reliability.md): a family grain whose state cannot
/// be read fails its activation with the database driver's exception, which Orleans cannot carry to a caller on
/// another silo. Every call must still be a typed UNAVAILABLE (retry), never INTERNAL, and work once the database is back.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StorageOutageTests(ClusterInfrastructure infrastructure)
{
    [Fact]
    public async Task Calls_while_postgresql_is_down_are_unavailable_on_every_silo_and_answer_again_once_it_is_back()
    {
        await using var postgres = await PostgresServer.StartAsync(); // its own server: this test stops it
        var database = await postgres.CreateDatabaseAsync();
        await Broker.Silo.Storage.SchemaMigrator.MigrateAsync(database);
        var clusterId = $"c{Guid.NewGuid():N}";
        var key = BrokerSiloSettings.NewEncryptionKey();
        Task<BrokerSilo> Start() => BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = Broker.Silo.Hosting.BrokerMode.Cluster, PostgreSql = database, Redis = infrastructure.Redis.Configuration,
            ClusterId = clusterId, ServiceId = clusterId, EncryptionKey = key, Settings = ProviderSettings.For("test", infrastructure.Server),
        });
        await using var a = await Start();
        await using var b = await Start();

        await postgres.StopAsync();
        // Families never activated: each activation reads its row, on whichever silo it is placed (about half on b).
        for (var i = 0; i < 12; i++)
        {
            var request = new GetAccessTokenRequest { Provider = "test", Subject = $"outage-user-{i}" };
            var refused = await Assert.ThrowsAsync<RpcException>(() => a.Client.GetAccessTokenAsync(request).ResponseAsync);
            Assert.True(refused.StatusCode == StatusCode.Unavailable, $"outage-user-{i}: {refused.StatusCode} {refused.Status.Detail}");
        }

        await postgres.StartAgainAsync();
        await Eventually.WaitUntilAsync(async () =>
        {
            try
            {
                await a.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "outage-user-0" });
                return false;
            }
            catch (RpcException ex)
            {
                return ex.StatusCode == StatusCode.FailedPrecondition; // AUTHORIZATION_REQUIRED: the row was read
            }
        }, "the family to be readable again", TimeSpan.FromSeconds(30));
        for (var i = 0; i < 12; i++)
        {
            await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "AUTHORIZATION_REQUIRED",
                () => a.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = $"outage-user-{i}" }).ResponseAsync);
        }
    }
}
