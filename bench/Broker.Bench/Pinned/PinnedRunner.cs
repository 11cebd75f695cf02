using System.Diagnostics;
using Broker.Bench.Load;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.DpopServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;

namespace Broker.Bench.Pinned;

/// <summary>
/// Cache hits against a silo built from Broker.Silo, run as its own process and pinned to the server cores, beside a
/// bare gRPC echo process pinned the same way; this process generates the load from the other cores. Server CPU per
/// call comes from each server's own CPU time over the measured window, so the load generator's cost is not counted.
/// </summary>
public sealed class PinnedRunner(PinnedOptions options, TextWriter progress)
{
    private const string DpopProvider = "dpop";
    private static readonly string ApiKey = Broker.Silo.Callers.ApiKeyHash.NewKey();

    public async Task<Report> RunAsync()
    {
        // taskset pins the servers and /proc gives their CPU time: Linux only.
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the pinned comparison needs Linux (taskset, /proc).");
        var mask = PinnedOptions.CoreList(options.LoadCores).Aggregate(0L, (m, core) => m | (1L << core));
        Process.GetCurrentProcess().ProcessorAffinity = (IntPtr)mask;

        await using var authorizationServer = await TestAuthorizationServer.StartAsync();
        // The DPoP-capable server issues the bound client tokens CreateProof signs for; an hour, so none expires mid-run.
        await using var dpopServer = await DpopAuthorizationServer.StartAsync(requireNonce: false, accessTokenLifetime: TimeSpan.FromHours(1));
        var echoPort = FreePort.Next();
        var grpcPort = FreePort.Next();
        await using var echo = await ServerProcess.StartAsync("echo", options.ServerCores, typeof(PinnedRunner).Assembly.Location,
            $"serve-echo --port {echoPort}", ServerEnvironment(), echoPort);
        await using var silo = await ServerProcess.StartAsync("silo", options.ServerCores, options.SiloDll ?? SiloDll(), "",
            SiloSettings(authorizationServer, dpopServer, grpcPort).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!)
                .Concat(ServerEnvironment()).ToDictionary(), grpcPort);

        using var echoChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{echoPort}", new GrpcChannelOptions());
        using var brokerChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions());
        var echoClient = new Echo.Echo.EchoClient(echoChannel);
        var broker = new TokenBroker.TokenBrokerClient(brokerChannel.WithBearer(ApiKey));
        for (var i = 0; i < options.Families; i++)
        {
            await broker.ImportTokensAsync(new ImportTokensRequest
            {
                Provider = "bench", Subject = $"user-{i}", AccessToken = $"bench-access-token-{i}", RefreshToken = $"bench-refresh-token-{i}",
                AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(2)),
            });
        }
        Func<int, Task> echoCall = _ => echoClient.SayAsync(new Echo.EchoMessage { Text = "bench" }).ResponseAsync;
        Func<int, Task> accessCall = i => broker.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "bench", Subject = $"user-{i % options.Families}" }).ResponseAsync;
        string[][] scopeSets = [["api"], ["api.read"]];
        Func<int, Task> clientCall = i => broker.GetClientTokenAsync(new GetClientTokenRequest { Provider = "bench", Scopes = { scopeSets[i % scopeSets.Length] } }).ResponseAsync;
        foreach (var scopes in scopeSets)
        {
            var bound = await broker.GetClientTokenAsync(new GetClientTokenRequest { Provider = DpopProvider, Scopes = { scopes } });
            if (!string.Equals(bound.TokenType, "DPoP", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"the DPoP server issued a {bound.TokenType} token, not a DPoP-bound one.");
        }
        Func<int, Task> proofCall = i => broker.CreateProofAsync(new CreateProofRequest
        {
            Provider = DpopProvider, ClientToken = new ClientTokenSelector { Scopes = { scopeSets[i % scopeSets.Length] } },
            HttpMethod = "GET", Url = "https://api.example/items",
        }).ResponseAsync;

        var report = new Report();
        report.Machine["serverCores"] = options.ServerCores;
        report.Machine["loadCores"] = options.LoadCores;
        report.Machine["serverProcessorCount"] = options.ServerProcessorCount;
        if (options.Scenarios.Contains("cache"))
            await CompareAsync(report, "GetAccessToken", $"{options.Families} imported families", accessCall, echo, silo, echoCall);
        if (options.Scenarios.Contains("client"))
            await CompareAsync(report, "GetClientToken", "2 scope sets", clientCall, echo, silo, echoCall);
        if (options.Scenarios.Contains("proof"))
            await CompareAsync(report, "CreateProof", "2 DPoP-bound client tokens, ES256", proofCall, echo, silo, echoCall, "proofs");
        if (options.Scenarios.Contains("storm"))
        {
            progress.WriteLine("pinned: refresh storm ...");
            await new PinnedStorm(options, authorizationServer, broker, silo).RunAsync(report);
        }
        return report;
    }

    private async Task CompareAsync(Report report, string name, string what, Func<int, Task> brokerCall, ServerProcess echo, ServerProcess silo,
        Func<int, Task> echoCall, string served = "cache hits")
    {
        progress.WriteLine($"pinned: {name} ...");
        var warm = TimeSpan.FromTicks(Math.Max(options.StepDuration.Ticks, options.WarmUp.Ticks / options.Concurrency.Length));
        foreach (var concurrency in options.Concurrency)
        {
            await LoadGenerator.ClosedLoopAsync("warm", concurrency, warm, brokerCall);
            await LoadGenerator.ClosedLoopAsync("warm", concurrency, warm, echoCall);
        }

        var section = report.Add(
            $"pinned: {name} {served} ({what}) vs bare gRPC echo, servers on cores {options.ServerCores}, load on {options.LoadCores}, " +
            $"{options.Pairs} alternated pairs of {options.StepDuration.TotalSeconds:F1} s; median [min-max]",
            "concurrency", "throughput broker/echo", "server CPU us/call broker", "echo", "CPU ratio", "p99 ms broker", "echo", "p99 ratio", "failures");
        foreach (var concurrency in options.Concurrency)
        {
            var pairs = new List<(Measured Echo, Measured Broker)>();
            for (var pair = 0; pair < options.Pairs; pair++)
            {
                var e = await MeasureAsync(echo, "echo", concurrency, echoCall);
                var b = await MeasureAsync(silo, name, concurrency, brokerCall);
                pairs.Add((e, b));
            }
            section.Rows.Add([
                concurrency.ToString(),
                Spread(pairs.Select(p => p.Broker.Load.Throughput / p.Echo.Load.Throughput)),
                Spread(pairs.Select(p => p.Broker.CpuPerCallUs), 1),
                Spread(pairs.Select(p => p.Echo.CpuPerCallUs), 1),
                Spread(pairs.Select(p => p.Broker.CpuPerCallUs / p.Echo.CpuPerCallUs)),
                Spread(pairs.Select(p => p.Broker.Load.P99Ms), 3),
                Spread(pairs.Select(p => p.Echo.Load.P99Ms), 3),
                Spread(pairs.Select(p => p.Broker.Load.P99Ms / p.Echo.Load.P99Ms)),
                pairs.Sum(p => p.Broker.Load.Failures + p.Echo.Load.Failures).ToString(),
            ]);
            section.Figures[$"c{concurrency}"] = pairs.Select(p => new { echo = p.Echo, broker = p.Broker }).ToList();
        }
    }

    private async Task<Measured> MeasureAsync(ServerProcess server, string name, int concurrency, Func<int, Task> call)
    {
        var before = server.CpuTime;
        var load = await LoadGenerator.ClosedLoopAsync(name, concurrency, options.StepDuration, call);
        var cpu = server.CpuTime - before;
        var calls = Math.Max(1, load.Calls + load.Failures);
        return new Measured(load, cpu.TotalMicroseconds / calls);
    }

    public sealed record Measured(LoadResult Load, double CpuPerCallUs);

    private static string Spread(IEnumerable<double> values, int digits = 2)
    {
        var sorted = values.Order().ToArray();
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return sorted.Length == 1 ? Report.F(median, digits) : $"{Report.F(median, digits)} [{Report.F(sorted[0], digits)}-{Report.F(sorted[^1], digits)}]";
    }

    /// <summary>What both servers get alike: the same processor count and GC mode.</summary>
    private Dictionary<string, string> ServerEnvironment() => new()
    {
        ["DOTNET_PROCESSOR_COUNT"] = options.ServerProcessorCount.ToString(),
        ["DOTNET_gcServer"] = "1",
    };

    /// <summary>
    /// An embedded silo as the README starts it, with one caller (API key, policy, audit), the test server as provider
    /// and the DPoP server as a second one with DPoP required. The proof rate limit is lifted: it would measure the limiter's refusals.
    /// </summary>
    private static Dictionary<string, string?> SiloSettings(TestAuthorizationServer server, DpopAuthorizationServer dpopServer, int grpcPort) => ProviderSettings.Merge(
        ProviderSettings.For("bench", server),
        new()
        {
            [$"Broker:Providers:{DpopProvider}:Issuer"] = dpopServer.IssuerString,
            [$"Broker:Providers:{DpopProvider}:ClientId"] = DpopAuthorizationServer.ClientId,
            [$"Broker:Providers:{DpopProvider}:ClientSecret"] = DpopAuthorizationServer.ClientSecret,
            [$"Broker:Providers:{DpopProvider}:Dpop"] = "Required",
            ["Broker:Dpop:ProofsPerSecondPerCaller"] = "1000000",
            ["Broker:Dpop:ProofBurstPerCaller"] = "1000000",
            // The storm refreshes every family at once, from one caller: the budget must not be what it measures.
            ["Broker:Providers:bench:TokenRequestsPerMinute"] = "60000",
            ["Broker:Providers:bench:TokenRequestBurst"] = "10000",
            ["Broker:Providers:bench:CallerTokenRequestShare"] = "1",
        },
        TestCallers.WithApiKey("bench", ApiKey, new Dictionary<string, string>
        {
            ["Providers:0"] = "*", ["Subjects:0"] = "*", ["Scopes:0"] = "*", ["MayGetClientTokens"] = "true", ["MayImport"] = "true",
        }),
        new()
        {
            ["Broker:Mode"] = "Embedded",
            ["Broker:Http:GrpcPort"] = grpcPort.ToString(),
            ["Broker:Http:HttpPort"] = FreePort.Next().ToString(),
            ["Broker:Cluster:SiloPort"] = FreePort.Next().ToString(),
            ["Broker:Cluster:GatewayPort"] = FreePort.Next().ToString(),
        });

    /// <summary>The silo's own Release build, run from its output folder so it reads its appsettings.json as deployed.</summary>
    private static string SiloDll()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Broker.sln"))) folder = folder.Parent;
        var dll = folder is null ? null : Path.Combine(folder.FullName, "silo", "Broker.Silo", "bin", "Release", "net10.0", "Broker.Silo.dll");
        return dll is not null && File.Exists(dll) ? dll
            : throw new InvalidOperationException("silo/Broker.Silo/bin/Release/net10.0/Broker.Silo.dll not found: build the solution in Release first.");
    }
}
