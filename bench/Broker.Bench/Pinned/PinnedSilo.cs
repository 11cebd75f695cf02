using Broker.Testing.AuthorizationServer;
using Broker.Testing.DpopServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;

namespace Broker.Bench.Pinned;

/// <summary>
/// One measured silo: a Broker.Silo build in its own pinned process, with the families and DPoP-bound client tokens the
/// scenarios read, and the calls that read them. Two of them (<c>--against</c>) are measured in the same pairs.
/// </summary>
public sealed partial class PinnedSilo : IAsyncDisposable
{
    public const string DpopProvider = "dpop";
    private static readonly string ApiKey = global::Broker.Silo.Callers.ApiKeyHash.NewKey();
    private static readonly string[][] ScopeSets = [["api"], ["api.read"]];

    private readonly GrpcChannel _channel;
    private readonly HttpClient _metrics;

    private PinnedSilo(ServerProcess process, GrpcChannel channel, string dll, int families, int httpPort)
    {
        Process = process;
        _metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
        _channel = channel;
        Dll = dll;
        Broker = new TokenBroker.TokenBrokerClient(channel.WithBearer(ApiKey));
        var broker = Broker;
        AccessCall = i => broker.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "bench", Subject = $"user-{i % families}" }).ResponseAsync;
        ClientCall = i => broker.GetClientTokenAsync(new GetClientTokenRequest { Provider = "bench", Scopes = { ScopeSets[i % ScopeSets.Length] } }).ResponseAsync;
        ProofCall = i => broker.CreateProofAsync(new CreateProofRequest
        {
            Provider = DpopProvider, ClientToken = new ClientTokenSelector { Scopes = { ScopeSets[i % ScopeSets.Length] } },
            HttpMethod = "GET", Url = "https://api.example/items",
        }).ResponseAsync;
    }

    public ServerProcess Process { get; }
    public string Dll { get; }
    public TokenBroker.TokenBrokerClient Broker { get; }
    public Func<int, Task> AccessCall { get; }
    public Func<int, Task> ClientCall { get; }
    public Func<int, Task> ProofCall { get; }

    /// <summary>Starts the silo, imports <paramref name="families"/> families and takes a DPoP-bound client token per scope set.</summary>
    public static async Task<PinnedSilo> StartAsync(string name, string? dll, string cores, IReadOnlyDictionary<string, string> environment,
        TestAuthorizationServer server, DpopAuthorizationServer dpopServer, int families)
    {
        dll ??= SiloDll();
        var grpcPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var process = await ServerProcess.StartAsync(name, cores, dll, "",
            SiloSettings(server, dpopServer, grpcPort, httpPort).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!)
                .Concat(environment).ToDictionary(), grpcPort);
        var silo = new PinnedSilo(process, GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions()), dll, families, httpPort);
        for (var i = 0; i < families; i++)
        {
            await silo.Broker.ImportTokensAsync(new ImportTokensRequest
            {
                Provider = "bench", Subject = $"user-{i}", AccessToken = $"bench-access-token-{i}", RefreshToken = $"bench-refresh-token-{i}",
                AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(2)),
            });
        }
        foreach (var scopes in ScopeSets)
        {
            var bound = await silo.Broker.GetClientTokenAsync(new GetClientTokenRequest { Provider = DpopProvider, Scopes = { scopes } });
            if (!string.Equals(bound.TokenType, "DPoP", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"the DPoP server issued a {bound.TokenType} token, not a DPoP-bound one.");
        }
        return silo;
    }

    /// <summary>
    /// Tokens the grains have answered so far (the silo's <c>broker.tokens.served</c> from its Prometheus endpoint, every
    /// source but <c>lease</c>, which the silo serves from its own copies): the grain calls that were answered.
    /// </summary>
    public async Task<long> GrainAnswersAsync()
    {
        var text = await _metrics.GetStringAsync("/metrics");
        return GrainAnswer().Matches(text).Where(m => !m.Groups["labels"].Value.Contains("source=\"lease\"", StringComparison.Ordinal))
            .Sum(m => (long)double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^broker_tokens_served_total\{(?<labels>[^}]*)\} (?<value>[0-9.eE+]+)", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex GrainAnswer();

    public async ValueTask DisposeAsync()
    {
        _metrics.Dispose();
        _channel.Dispose();
        await Process.DisposeAsync();
    }

    /// <summary>
    /// An embedded silo as the README starts it, with one caller (API key, policy, audit), the test server as provider
    /// and the DPoP server as a second one with DPoP required. The proof rate limit is lifted: it would measure the limiter's refusals.
    /// </summary>
    private static Dictionary<string, string?> SiloSettings(TestAuthorizationServer server, DpopAuthorizationServer dpopServer, int grpcPort, int httpPort) => ProviderSettings.Merge(
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
            ["Broker:Http:HttpPort"] = httpPort.ToString(),
            ["Broker:Cluster:SiloPort"] = FreePort.Next().ToString(),
            ["Broker:Cluster:GatewayPort"] = FreePort.Next().ToString(),
        });

    /// <summary>The silo's own Release build, run from its output folder so it reads its appsettings.json as deployed.</summary>
    public static string SiloDll()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Broker.sln"))) folder = folder.Parent;
        var dll = folder is null ? null : Path.Combine(folder.FullName, "silo", "Broker.Silo", "bin", "Release", "net10.0", "Broker.Silo.dll");
        return dll is not null && File.Exists(dll) ? dll
            : throw new InvalidOperationException("silo/Broker.Silo/bin/Release/net10.0/Broker.Silo.dll not found: build the solution in Release first.");
    }
}
