using System.Diagnostics;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Bench.Echo;
using Broker.Bench.Load;
using Broker.Silo.Hosting;
using Broker.Silo.Storage;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Orleans;
using Orleans.Runtime;

namespace Broker.Bench;

/// <summary>Runs the scenarios of docs/benchmarks.md and fills a <see cref="Report"/>.</summary>
public sealed class BenchRunner(BenchOptions options, TextWriter progress)
{
    public async Task<Report> RunAsync()
    {
        var report = new Report();
        foreach (var scenario in options.Scenarios)
        {
            progress.WriteLine($"running {scenario} ...");
            switch (scenario)
            {
                case "cache": await CacheHitsAsync(report, client: false); break;
                case "client": await CacheHitsAsync(report, client: true); break;
                case "storm": await RefreshStormAsync(report); break;
                case "cold": await ColdStartAsync(report); break;
                case "scale": await StateScaleAsync(report); break;
                case "events": await new Events.EventLatencyRunner(options.EventFamilies, progress).RunAsync(report, Quiet); break;
                case "parts": new Parts.HotPathParts(options.PartIterations).Run(report); break;
                default: throw new ArgumentException($"unknown scenario '{scenario}' (cache, client, storm, cold, scale, parts, events)");
            }
        }
        return report;
    }

    private static Dictionary<string, string?> Quiet => new()
    {
        ["Logging:LogLevel:Default"] = "Error",
        ["Logging:LogLevel:Orleans"] = "Error",
        ["Logging:LogLevel:Microsoft"] = "Error",
        // The audit trail (one event per call) is always on and written by the audit writer as deployed; on stdout
        // it would flood the figures, so its file sink writes to the null device (the formatting is still paid).
        ["Broker:Audit:Sink"] = "File",
        ["Broker:Audit:Path"] = OperatingSystem.IsWindows() ? "NUL" : "/dev/null",
    };

    /// <summary>1 and 5: GetAccessToken / GetClientToken cache hits against the bare echo, at rising concurrency.</summary>
    private async Task CacheHitsAsync(Report report, bool client)
    {
        await using var server = await TestAuthorizationServer.StartAsync();
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings { Settings = ProviderSettings.Merge(ProviderSettings.For("bench", server), Quiet) });
        await using var echo = await EchoServer.StartAsync();
        using var echoChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{echo.Port}", Channel());
        using var brokerChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{silo.GrpcPort}", Channel());
        var echoClient = new Echo.Echo.EchoClient(echoChannel);
        var broker = new TokenBroker.TokenBrokerClient(brokerChannel.WithBearer(TestCallers.AdminApiKey));

        var families = options.CacheFamilies;
        Func<int, Task> brokerCall;
        if (client)
        {
            string[][] scopeSets = [["api"], ["api.read"], ["api.write"], ["api", "api.read"]];
            brokerCall = i => broker.GetClientTokenAsync(new GetClientTokenRequest { Provider = "bench", Scopes = { scopeSets[i % scopeSets.Length] } }).ResponseAsync;
        }
        else
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, families), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
                await broker.ImportTokensAsync(new ImportTokensRequest
                {
                    Provider = "bench", Subject = $"user-{i}", AccessToken = $"bench-access-token-{i}", RefreshToken = $"bench-refresh-token-{i}",
                    AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(2)),
                }));
            brokerCall = i => broker.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "bench", Subject = $"user-{i % families}" }).ResponseAsync;
        }
        Func<int, Task> echoCall = i => echoClient.SayAsync(new EchoMessage { Text = "bench" }).ResponseAsync;

        // Warm both paths (JIT, connections, activations) before anything is measured.
        await LoadGenerator.ClosedLoopAsync("warm", options.Concurrency.Max(), options.StepDuration, brokerCall);
        await LoadGenerator.ClosedLoopAsync("warm", options.Concurrency.Max(), options.StepDuration, echoCall);

        var name = client ? "GetClientToken" : "GetAccessToken";
        var section = report.Add($"{(client ? 5 : 1)}. {name} cache hits vs bare gRPC echo ({(client ? "4 scope sets" : $"{families} families")}, {options.StepDuration.TotalSeconds:F1} s per step)",
            "concurrency", "broker calls/s", "echo calls/s", "ratio", "broker p50 ms", "p90", "p99", "p99.9", "echo p99 ms", "failures");
        LoadResult? bestBroker = null;
        foreach (var concurrency in options.Concurrency)
        {
            // Interleaved, so drift of a noisy machine hits both sides alike.
            var e = await LoadGenerator.ClosedLoopAsync("echo", concurrency, options.StepDuration, echoCall);
            var b = await LoadGenerator.ClosedLoopAsync(name, concurrency, options.StepDuration, brokerCall);
            if (bestBroker is null || b.Throughput > bestBroker.Throughput) bestBroker = b;
            section.Rows.Add([concurrency.ToString(), Report.F(b.Throughput, 0), Report.F(e.Throughput, 0), Report.F(b.Throughput / e.Throughput),
                Report.F(b.P50Ms, 3), Report.F(b.P90Ms, 3), Report.F(b.P99Ms, 3), Report.F(b.P999Ms, 3), Report.F(e.P99Ms, 3), (b.Failures + e.Failures).ToString()]);
            section.Figures[$"c{concurrency}"] = new { broker = b, echo = e, ratio = b.Throughput / e.Throughput };
        }

        // Latency at half of the saturating load, open loop: calls start on schedule whatever the answers do.
        // The echo gets the same rate in the same run, as the baseline.
        var half = bestBroker!.Throughput / 2;
        var paced = await LoadGenerator.OpenLoopAsync(name, half, options.StepDuration * 2, brokerCall);
        var pacedEcho = await LoadGenerator.OpenLoopAsync("echo", half, options.StepDuration * 2, echoCall);
        section.Notes.Add($"open loop at half the broker's saturating rate ({Report.F(half, 0)} calls/s): broker p50 {Report.F(paced.P50Ms, 3)} ms, p99 {Report.F(paced.P99Ms, 3)} ms, p99.9 {Report.F(paced.P999Ms, 3)} ms, {paced.Failures} failures; echo at the same rate p50 {Report.F(pacedEcho.P50Ms, 3)} ms, p99 {Report.F(pacedEcho.P99Ms, 3)} ms");
        section.Figures["halfLoad"] = new { broker = paced, echo = pacedEcho };

        if (!client)
        {
            // Where the time goes: the same cache hit as an in-process grain call, without gRPC.
            var grainFactory = silo.Grains;
            var keys = Enumerable.Range(0, families).Select(i => new FamilyKey(ProviderName.Parse("bench"), Subject.Parse($"user-{i}")).ToGrainKey()).ToArray();
            var minTtl = TimeSpan.FromMinutes(5);
            Func<int, Task> grainCall = i => grainFactory.GetGrain<ITokenFamilyGrain>(keys[i % families]).GetAccessToken(minTtl, false);
            await LoadGenerator.ClosedLoopAsync("warm", options.Concurrency.Max(), options.StepDuration, grainCall);
            var grainOnly = await LoadGenerator.ClosedLoopAsync("grain", options.Concurrency.Max(), options.StepDuration, grainCall);
            section.Notes.Add($"the grain call alone (in-process, no gRPC) at concurrency {options.Concurrency.Max()}: {Report.F(grainOnly.Throughput, 0)} calls/s, p50 {Report.F(grainOnly.P50Ms, 3)} ms, p99 {Report.F(grainOnly.P99Ms, 3)} ms");
            section.Figures["grainOnly"] = grainOnly;
        }
    }

    /// <summary>2: N callers on M families whose tokens need a refresh at the same moment.</summary>
    private async Task RefreshStormAsync(Report report)
    {
        var lifetime = TimeSpan.FromSeconds(8);
        await using var server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = lifetime });
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(ProviderSettings.For("bench", server), Quiet, new()
            {
                ["Broker:Families:RefreshAhead"] = "false",
                ["Broker:Providers:bench:TokenRequestsPerMinute"] = "60000",
                ["Broker:Providers:bench:TokenRequestBurst"] = "10000",
                ["Broker:Providers:bench:CallerTokenRequestShare"] = "1", // one caller drives every scenario
            }),
        });
        await server.AddRedirectUriAsync("broker", silo.RedirectUri("bench"));
        var direct = new DirectClient(server);
        await direct.RegisterAsync();

        var families = options.StormFamilies;

        // The upstream round trip alone, at the same concurrency: one refresh per family, all at once, sent
        // straight to the server (after one warm-up round).
        var chains = new DirectClient.Tokens[families];
        for (var i = 0; i < families; i++) chains[i] = await direct.AuthorizeAsync($"direct-{i}", "api.read");
        var upstream = new TimeSpan[families];
        for (var round = 0; round < 2; round++)
        {
            await Concurrently.RunAsync(families, async i =>
            {
                var started = Stopwatch.GetTimestamp();
                chains[i] = await direct.RefreshAsync(chains[i].RefreshToken!) ?? throw new InvalidOperationException("direct refresh failed");
                upstream[i] = Stopwatch.GetElapsedTime(started);
                return 0;
            });
        }

        var minTtl = (uint)(lifetime.TotalSeconds / 2);
        var latest = DateTimeOffset.MinValue;
        for (var i = 0; i < families; i++)
        {
            await AuthorizationFlow.AuthorizeAsync(silo, "bench", $"storm-{i}", "api.read");
            var token = await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "bench", Subject = $"storm-{i}", MinTtlSeconds = minTtl });
            if (token.ExpiresAt.ToDateTimeOffset() > latest) latest = token.ExpiresAt.ToDateTimeOffset();
        }
        // Until every family is inside the callers' buffer (half the lifetime) and none has expired.
        var wait = latest - TimeSpan.FromSeconds(minTtl) - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500);
        if (wait > TimeSpan.Zero) await Task.Delay(wait);

        var before = server.Stats.RefreshTokenGrants;
        var latencies = new TimeSpan[options.StormCallers];
        await Concurrently.RunAsync(options.StormCallers, async i =>
        {
            var started = Stopwatch.GetTimestamp();
            await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "bench", Subject = $"storm-{i % families}", MinTtlSeconds = minTtl });
            latencies[i] = Stopwatch.GetElapsedTime(started);
            return 0;
        });
        var refreshes = server.Stats.RefreshTokenGrants - before;

        var (callerP50, callerP99) = LoadGenerator.Percentiles(latencies);
        var (upstreamP50, upstreamP99) = LoadGenerator.Percentiles(upstream);
        var section = report.Add("2. Refresh storm", "families", "callers", "upstream refreshes", "per family", "caller p50 ms", "caller p99 ms", "upstream alone p50 ms", "p99 ms", "caller p50 / upstream p50");
        section.Rows.Add([families.ToString(), options.StormCallers.ToString(), refreshes.ToString(), Report.F((double)refreshes / families),
            Report.F(callerP50), Report.F(callerP99), Report.F(upstreamP50), Report.F(upstreamP99), Report.F(callerP50 / upstreamP50)]);
        section.Figures["refreshesPerFamily"] = (double)refreshes / families;
        section.Notes.Add("all callers are released at once; each family's callers share one refresh, and all families refresh concurrently, so the server sees up to one request per family at the same moment");
    }

    /// <summary>3: the first call of a family not in memory: activation, a PostgreSQL read, decryption.</summary>
    private async Task ColdStartAsync(Report report)
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var redis = await RedisServer.StartAsync();
        await using var server = await TestAuthorizationServer.StartAsync();
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database);
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = BrokerMode.Cluster, PostgreSql = database, Redis = redis.Configuration, ClusterId = "bench", ServiceId = "bench",
            EncryptionKey = BrokerSiloSettings.NewEncryptionKey(),
            Settings = ProviderSettings.Merge(ProviderSettings.For("bench", server), Quiet),
        });

        var families = options.ColdFamilies;
        await Parallel.ForEachAsync(Enumerable.Range(0, families), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            await silo.Client.ImportTokensAsync(new ImportTokensRequest
            {
                Provider = "bench", Subject = $"cold-{i}", AccessToken = $"cold-access-token-{i}", RefreshToken = $"cold-refresh-token-{i}",
                AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(2)),
            }));
        await silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var cold = new List<TimeSpan>();
        var warm = new List<TimeSpan>();
        for (var i = 0; i < families; i++)
        {
            var request = new GetAccessTokenRequest { Provider = "bench", Subject = $"cold-{i}" };
            var started = Stopwatch.GetTimestamp();
            await silo.Client.GetAccessTokenAsync(request);
            cold.Add(Stopwatch.GetElapsedTime(started));
            started = Stopwatch.GetTimestamp();
            await silo.Client.GetAccessTokenAsync(request);
            warm.Add(Stopwatch.GetElapsedTime(started));
        }
        var (coldP50, coldP99) = LoadGenerator.Percentiles(cold);
        var (warmP50, warmP99) = LoadGenerator.Percentiles(warm);
        var section = report.Add("3. Cold start of a family (PostgreSQL, decryption)", "families", "cold p50 ms", "cold p99 ms", "warm p50 ms", "warm p99 ms", "cold / warm p50");
        section.Rows.Add([families.ToString(), Report.F(coldP50, 3), Report.F(coldP99, 3), Report.F(warmP50, 3), Report.F(warmP99, 3), Report.F(coldP50 / warmP50)]);
        section.Figures["cold"] = new { p50 = coldP50, p99 = coldP99 };
        section.Figures["warm"] = new { p50 = warmP50, p99 = warmP99 };
        section.Notes.Add("sequential calls through gRPC; 'warm' is the same call again right after, in the same run");
    }

    /// <summary>4: memory per active family and the time to activate them.</summary>
    private async Task StateScaleAsync(Report report)
    {
        var section = report.Add("4. Scale of state (embedded silo, in-process grain calls)", "active families", "activation s", "families/s",
            "GC heap delta MiB", "working set delta MiB", "bytes per family (heap)", "families per GiB");
        foreach (var families in options.ScaleFamilies)
        {
            await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
            {
                Settings = ProviderSettings.Merge(Quiet, new()
                {
                    ["Broker:Providers:bench:Issuer"] = "https://as.bench.invalid/",
                    ["Broker:Providers:bench:ClientId"] = "bench",
                    ["Broker:Providers:bench:ClientSecret"] = "bench-secret",
                }),
            });
            var grains = silo.Grains;
            var expires = DateTimeOffset.UtcNow.AddHours(2);
            // A typical JWT-sized access token and an opaque refresh token.
            var access = new string('a', 900);
            var heapBefore = HeapBytes();
            var workingSetBefore = Process.GetCurrentProcess().WorkingSet64;
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, families), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
            {
                var key = new FamilyKey(ProviderName.Parse("bench"), Subject.Parse($"scale-{i}"));
                await grains.GetGrain<ITokenFamilyGrain>(key.ToGrainKey()).ImportTokens(
                    new TokenSet($"{access}{i}", "Bearer", expires, $"refresh-{i:D12}-{Guid.NewGuid():N}", null, ScopeSet.Parse(["api.read"])));
            });
            var seconds = clock.Elapsed.TotalSeconds;
            var heap = HeapBytes() - heapBefore;
            var workingSet = Process.GetCurrentProcess().WorkingSet64 - workingSetBefore;
            var perFamily = (double)heap / families;
            section.Rows.Add([families.ToString(), Report.F(seconds), Report.F(families / seconds, 0), Report.F(heap / 1048576.0, 1),
                Report.F(workingSet / 1048576.0, 1), Report.F(perFamily, 0), Report.F(1073741824.0 / perFamily, 0)]);
            section.Figures[$"f{families}"] = new { families, seconds, heapBytes = heap, workingSetBytes = workingSet, bytesPerFamily = perFamily };
        }
        section.Notes.Add("embedded mode keeps a second copy of every state in Orleans' in-memory storage, so bytes per family are an upper bound for a cluster-mode silo, whose state lives in PostgreSQL");
    }

    private static long HeapBytes()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static GrpcChannelOptions Channel() => new()
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
    };
}
