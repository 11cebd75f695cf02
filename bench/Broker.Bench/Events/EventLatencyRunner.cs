using Broker.Silo.Hosting;
using Broker.Silo.Storage;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Events;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;

namespace Broker.Bench.Events;

/// <summary>
/// 6: delivery latency of events, from the event's time (set by the grain as it stores the event in the outbox) to the
/// webhook's receipt at a real Kestrel receiver that verifies each signature. Three silos in cluster mode on PostgreSQL
/// and Redis; each family imported (family.authorized) then revoked (family.revoked), calls spread over the silos.
/// </summary>
public sealed class EventLatencyRunner(int families, TextWriter progress)
{
    public async Task RunAsync(Report report, Dictionary<string, string?> quiet)
    {
        await using var postgres = await PostgresServer.StartAsync(pinnedPort: null);
        await using var redis = await RedisServer.StartOwnAsync();
        await using var server = await TestAuthorizationServer.StartAsync();
        await using var sink = await WebhookReceiver.CreateAsync();
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database);
        var clusterId = $"events{Guid.NewGuid():N}";
        var key = BrokerSiloSettings.NewEncryptionKey();
        var admin = TestCallers.AdminName;
        var settings = ProviderSettings.Merge(ProviderSettings.For("bench", server), quiet, new()
        {
            [$"Broker:Callers:{admin}:Webhook:Url"] = sink.Url.AbsoluteUri,
            [$"Broker:Callers:{admin}:Webhook:Secret"] = sink.Secret,
            // The receiver is on loopback.
            [$"Broker:Callers:{admin}:Webhook:AllowPrivateNetwork"] = "true",
        });
        var silos = new List<BrokerSilo>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                progress.WriteLine($"  starting silo {i + 1} of 3 ...");
                silos.Add(await BrokerSilo.StartAsync(new BrokerSiloSettings
                {
                    Mode = BrokerMode.Cluster, PostgreSql = database, Redis = redis.Configuration,
                    ClusterId = clusterId, ServiceId = clusterId, EncryptionKey = key, Settings = settings,
                }));
            }
            var channels = silos.Select(s => GrpcChannel.ForAddress($"http://127.0.0.1:{s.GrpcPort}")).ToList();
            var clients = channels.Select(c => new TokenBroker.TokenBrokerClient(c.WithBearer(TestCallers.AdminApiKey))).ToList();

            progress.WriteLine($"  {families} families: import, then revoke ...");
            var started = DateTimeOffset.UtcNow;
            await Parallel.ForEachAsync(Enumerable.Range(0, families), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            {
                var subject = $"events-{i}";
                await clients[i % 3].ImportTokensAsync(new ImportTokensRequest
                {
                    Provider = "bench", Subject = subject, AccessToken = $"bench-access-token-{i}", RefreshToken = $"bench-refresh-token-{i}",
                    AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(2)),
                });
                // Revoked through another silo than the one it was imported through.
                await clients[(i + 1) % 3].RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "bench", Subject = subject });
            });
            var expected = 2 * families;
            await Eventually.WaitUntilAsync(() => sink.Received.Select(r => r.Id).Distinct().Count() >= expected,
                $"{expected} events at the webhook", TimeSpan.FromMinutes(2));
            var produced = DateTimeOffset.UtcNow - started;
            // Late duplicates (a lease that lapsed) would still arrive: give them a moment.
            await Task.Delay(TimeSpan.FromSeconds(2));
            foreach (var channel in channels) channel.Dispose();

            var receipts = sink.Received.ToList();
            var firsts = receipts.GroupBy(r => r.Id).Select(g => g.MinBy(r => r.ReceivedAt)!).ToList();
            var latencies = firsts.Select(r => (r.ReceivedAt - r.EventTime).TotalMilliseconds).Order().ToArray();
            var section = report.Add("6. Event delivery: event time to webhook receipt, 3 silos (cluster mode)",
                "events", "received", "duplicates", "unverified", "p50 ms", "p99 ms", "max ms");
            section.Rows.Add([
                expected.ToString(), firsts.Count.ToString(), (receipts.Count - firsts.Count).ToString(),
                receipts.Count(r => !r.Verified).ToString(),
                Report.F(Percentile(latencies, 0.50), 0), Report.F(Percentile(latencies, 0.99), 0), Report.F(latencies[^1], 0),
            ]);
            section.Figures["events"] = expected;
            section.Figures["received"] = firsts.Count;
            section.Figures["duplicates"] = receipts.Count - firsts.Count;
            section.Figures["unverified"] = receipts.Count(r => !r.Verified);
            section.Figures["p50Ms"] = Percentile(latencies, 0.50);
            section.Figures["p99Ms"] = Percentile(latencies, 0.99);
            section.Figures["maxMs"] = latencies[^1];
            section.Notes.Add($"{families} families imported then revoked over 3 silos in {produced.TotalSeconds:F1} s; default delivery settings " +
                "(each silo polls the outbox every 1 s, batches of 20); the receiver verifies every signature.");
        }
        finally
        {
            foreach (var silo in silos) await silo.DisposeAsync();
        }
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
