using System.Security.Cryptography;
using Broker.Silo.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans;

namespace Broker.Testing.Hosting;

/// <summary>What a test silo runs with. Providers and any other setting go in <see cref="Settings"/>.</summary>
public sealed class BrokerSiloSettings
{
    public BrokerMode Mode { get; init; } = BrokerMode.Embedded;
    public string? PostgreSql { get; init; }
    public string? Redis { get; init; }
    public string ClusterId { get; init; } = "broker";
    public string ServiceId { get; init; } = "broker";

    /// <summary>Base64 key for the ring; cluster tests pass one key to every silo so they read each other's state.</summary>
    public string? EncryptionKey { get; init; }

    public Dictionary<string, string?> Settings { get; init; } = [];

    /// <summary>Starts with no caller configured at all (the tests' admin caller is left out).</summary>
    public bool WithoutCallers { get; init; }

    /// <summary>An extra log sink, e.g. to read everything the silo writes.</summary>
    public Microsoft.Extensions.Logging.ILoggerProvider? LoggerProvider { get; init; }

    /// <summary>Anything else on the host before it is built, e.g. an extra telemetry exporter.</summary>
    public Action<WebApplicationBuilder>? Customize { get; init; }

    public static string NewEncryptionKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
}

/// <summary>
/// A real broker process built in-process through <see cref="BrokerHost"/>: Kestrel on free loopback ports,
/// an Orleans silo, the production wiring. Tests reach it through gRPC and HTTP like any caller.
/// </summary>
public sealed class BrokerSilo : IBrokerEndpoints, IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private BrokerSilo(WebApplication app, int grpcPort, int httpPort)
    {
        _app = app;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        Client = new TokenBroker.TokenBrokerClient(Channel.WithBearer(TestCallers.AdminApiKey));
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/") };
    }

    public int GrpcPort { get; }
    public int HttpPort { get; }
    public GrpcChannel Channel { get; }
    public TokenBroker.TokenBrokerClient Client { get; }
    public HttpClient Http { get; }
    public IServiceProvider Services => _app.Services;
    public IGrainFactory Grains => _app.Services.GetRequiredService<IGrainFactory>();

    public Uri RedirectUri(string provider) => new($"http://127.0.0.1:{HttpPort}/oauth2/callback/{provider}");

    /// <summary>Starts the silo; a bind that lost the race for a free port is retried with new ports.</summary>
    public static async Task<BrokerSilo> StartAsync(BrokerSiloSettings settings)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnFreePortsAsync(settings);
            }
            catch (Exception ex) when (attempt < FreePort.Attempts && FreePort.LostRace(ex))
            {
            }
        }
    }

    private static async Task<BrokerSilo> StartOnFreePortsAsync(BrokerSiloSettings settings)
    {
        var grpcPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var configuration = new Dictionary<string, string?>
        {
            ["Broker:Mode"] = settings.Mode.ToString(),
            ["Broker:Http:GrpcPort"] = grpcPort.ToString(),
            ["Broker:Http:HttpPort"] = httpPort.ToString(),
            ["Broker:Cluster:SiloPort"] = FreePort.Next().ToString(),
            ["Broker:Cluster:GatewayPort"] = FreePort.Next().ToString(),
            ["Broker:Cluster:ClusterId"] = settings.ClusterId,
            ["Broker:Cluster:ServiceId"] = settings.ServiceId,
            ["Broker:Cluster:Redis"] = settings.Redis,
            ["Broker:Cluster:PostgreSql"] = settings.PostgreSql,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Warning",
            ["Logging:LogLevel:Microsoft"] = "Warning",
        };
        if (settings.EncryptionKey is not null)
        {
            configuration["Broker:Encryption:Keys:0:Id"] = "test";
            configuration["Broker:Encryption:Keys:0:Key"] = settings.EncryptionKey;
        }
        if (!settings.WithoutCallers)
            foreach (var (key, value) in TestCallers.AdminSettings) configuration[key] = value;
        foreach (var (key, value) in settings.Settings) configuration[key] = value;

        var app = BrokerHost.Build([], builder => builder.AddInMemoryCollection(configuration), host =>
        {
            if (settings.LoggerProvider is { } provider) host.Logging.AddProvider(provider);
            settings.Customize?.Invoke(host);
        });
        try
        {
            await BrokerHost.StartAsync(app);
        }
        catch
        {
            await StopAfterFailedStartAsync(app);
            throw;
        }
        return new BrokerSilo(app, grpcPort, httpPort);
    }

    /// <summary>Whatever did start (the Orleans silo may be up when Kestrel's bind fails) must release its ports too.</summary>
    private static async Task StopAfterFailedStartAsync(WebApplication app)
    {
        try
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StopAsync(stopping.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Orleans refuses to stop a silo that never ran (it holds no port then); the start's failure is the one to report.
        }
        await app.DisposeAsync();
    }

    /// <summary>Graceful shutdown: the silo leaves the cluster and deactivates its grains.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        Channel.Dispose();
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
