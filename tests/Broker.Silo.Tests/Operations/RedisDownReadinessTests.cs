using System.Diagnostics;
using System.Net;
using Broker.Silo.Tests.Cluster;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using StackExchange.Redis;

namespace Broker.Silo.Tests.Operations;

/// <summary>
/// README (Health): clustering down makes the silo unready (503); the answer names the failed check. Redis is
/// frozen (SIGSTOP), not killed: it stops answering like a dead or partitioned server, and after SIGCONT it comes
/// back with the cluster's membership rows, so the silo can recover and leave the cluster cleanly.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RedisDownReadinessTests(ClusterInfrastructure infrastructure)
{
    [Fact]
    public async Task With_redis_unreachable_a_cluster_silo_is_unready_503_names_the_redis_check_and_recovers()
    {
        await using var redis = await RedisServer.StartOwnAsync(); // its own server, even with BROKER_TEST_REDIS: this test freezes it
        var redisPid = await ProcessIdOf(redis.Configuration);
        var database = await infrastructure.Postgres.CreateDatabaseAsync();
        await Broker.Silo.Storage.SchemaMigrator.MigrateAsync(database);
        var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = Broker.Silo.Hosting.BrokerMode.Cluster,
            PostgreSql = database,
            Redis = redis.Configuration,
            ClusterId = $"c{Guid.NewGuid():N}",
            EncryptionKey = BrokerSiloSettings.NewEncryptionKey(),
            Settings = ProviderSettings.For("test", infrastructure.Server),
        });
        var frozen = false;
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(silo)).Status);

            Signal("-STOP", redisPid);
            frozen = true;
            var down = await WaitForAsync(silo, HttpStatusCode.ServiceUnavailable);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
            Assert.Equal("Unhealthy", down.Body.GetProperty("status").GetString());
            Assert.Equal("Unhealthy", down.Body.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
            Assert.Matches("^Redis unreachable: [A-Za-z]+$", down.Body.GetProperty("checks").GetProperty("redis").GetProperty("reason").GetString());
            Assert.Equal("Healthy", down.Body.GetProperty("checks").GetProperty("postgresql").GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/health/live")).StatusCode);

            Signal("-CONT", redisPid);
            frozen = false;
            var back = await WaitForAsync(silo, HttpStatusCode.OK);
            Assert.Equal(HttpStatusCode.OK, back.Status);
            Assert.Equal("Healthy", back.Body.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
        }
        finally
        {
            if (frozen) Signal("-CONT", redisPid);
            await silo.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    private static Task<(HttpStatusCode Status, System.Text.Json.JsonElement Body)> ReadyAsync(BrokerSilo silo) => Readiness.ReadAsync(silo);

    /// <summary>Polls readiness until it answers <paramref name="wanted"/>, for at most 45 s (each check waits up to ~5 s on Redis).</summary>
    private static async Task<(HttpStatusCode Status, System.Text.Json.JsonElement Body)> WaitForAsync(BrokerSilo silo, HttpStatusCode wanted)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (true)
        {
            var answer = await ReadyAsync(silo);
            if (answer.Status == wanted || DateTime.UtcNow > deadline) return answer;
            await Task.Delay(250);
        }
    }

    private static async Task<int> ProcessIdOf(string configuration)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"{configuration},allowAdmin=true");
        var info = await connection.GetServers()[0].InfoAsync("server");
        return int.Parse(info.SelectMany(g => g).Single(p => p.Key == "process_id").Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        if (!kill.WaitForExit(10_000) || kill.ExitCode != 0) throw new InvalidOperationException($"kill {signal} {pid} failed");
    }
}
