using System.Collections.Concurrent;
using System.Net;
using Broker.Silo.Hosting;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Broker.Silo.Tests.Cluster;

/// <summary>
/// Redis loses its data under load (restarted without persistence): the silos whose membership entries vanished stop
/// serving within the detection time, a family revoked through a silo that joined the empty table is served by nobody,
/// and once the old silos are started again the cluster is one.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MembershipLossTests(ClusterInfrastructure infrastructure)
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task After_redis_lost_its_data_no_silo_serves_a_family_revoked_through_a_new_silo_and_the_restarted_silos_form_one_cluster()
    {
        await using var redis = await RedisServer.StartOwnAsync(); // its own server: the test empties it
        var database = await infrastructure.Postgres.CreateDatabaseAsync();
        await Broker.Silo.Storage.SchemaMigrator.MigrateAsync(database);
        var clusterId = $"c{Guid.NewGuid():N}";
        var key = BrokerSiloSettings.NewEncryptionKey();
        async Task<BrokerSilo> StartSilo()
        {
            var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
            {
                Mode = BrokerMode.Cluster, PostgreSql = database, Redis = redis.Configuration,
                ClusterId = clusterId, ServiceId = clusterId, EncryptionKey = key,
                Settings = ProviderSettings.Merge(ProviderSettings.For("test", infrastructure.Server),
                    new() { ["Broker:Cluster:MembershipWatch:CheckInterval"] = CheckInterval.ToString() }),
            });
            await infrastructure.Server.AddRedirectUriAsync("broker", silo.RedirectUri("test"));
            return silo;
        }
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "split-user" };
        var a = await StartSilo();
        var b = await StartSilo();
        BrokerSilo? c = null, restarted = null;
        try
        {
            await AuthorizationFlow.AuthorizeAsync(a, "test", "split-user", "api.read");
            var token = (await a.Client.GetAccessTokenAsync(request)).AccessToken_;

            // Callers on both old silos, all along.
            var served = new ConcurrentQueue<(DateTime At, string Token)>();
            using var stopLoad = new CancellationTokenSource();
            var load = Task.WhenAll(new[] { a, b }.Select(silo => Task.Run(async () =>
            {
                while (!stopLoad.IsCancellationRequested)
                {
                    try
                    {
                        served.Enqueue((DateTime.UtcNow, (await silo.Client.GetAccessTokenAsync(request)).AccessToken_));
                    }
                    catch (RpcException)
                    {
                    }
                    await Task.Delay(5);
                }
            })));

            await FlushAllAsync(redis.Configuration);
            c = await StartSilo(); // joins the empty table
            await c.Client.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = "split-user" });
            Assert.False(await infrastructure.Server.IsActiveAsync(token));

            await Eventually.WaitUntilAsync(async () => await IsUnready(a) && await IsUnready(b),
                "both old silos to find their membership gone", TimeSpan.FromSeconds(30));
            var detected = DateTime.UtcNow;
            await Task.Delay(CheckInterval * 2);
            await stopLoad.CancelAsync();
            await load;

            Assert.DoesNotContain(served, s => s.At > detected);
            foreach (var old in new[] { a, b })
            {
                var refused = await Assert.ThrowsAsync<RpcException>(() => old.Client.GetAccessTokenAsync(request).ResponseAsync);
                Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
            }
            await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED", () => c.Client.GetAccessTokenAsync(request).ResponseAsync);

            // Their supervisor starts them again: they join the cluster the new silo leads.
            await StopLeftSilo(a);
            await StopLeftSilo(b);
            restarted = await StartSilo();
            await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED", () => restarted.Client.GetAccessTokenAsync(request).ResponseAsync);
            var hosts = await c.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            Assert.Equal(2, hosts.Count);
        }
        finally
        {
            if (restarted is not null) await restarted.DisposeAsync();
            if (c is not null) await c.DisposeAsync();
            await StopLeftSilo(a);
            await StopLeftSilo(b);
        }
    }

    private static async Task<bool> IsUnready(BrokerSilo silo)
    {
        using var ready = await silo.Http.GetAsync("/health/ready");
        return ready.StatusCode == HttpStatusCode.ServiceUnavailable && (await ready.Content.ReadAsStringAsync()).Contains("left the cluster");
    }

    /// <summary>A silo that left its cluster may not stop gracefully (its membership store is gone): bounded.</summary>
    private static async Task StopLeftSilo(BrokerSilo silo)
    {
        try
        {
            await silo.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(45));
        }
        catch (TimeoutException)
        {
        }
    }

    private static async Task FlushAllAsync(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AllowAdmin = true;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        foreach (var endpoint in connection.GetEndPoints()) await connection.GetServer(endpoint).FlushAllDatabasesAsync();
    }
}
