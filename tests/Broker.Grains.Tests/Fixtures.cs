using Broker.Silo.Hosting;
using Broker.Silo.Storage;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Grains.Tests;

/// <summary>Real PostgreSQL and Redis shared by the cluster tests of this assembly.</summary>
public sealed class Infrastructure : IAsyncLifetime
{
    public PostgresServer Postgres { get; private set; } = null!;
    public RedisServer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        Redis = await RedisServer.StartAsync();
    }

    public async Task<string> NewDatabaseAsync()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database);
        return database;
    }

    public async Task DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}

/// <summary>
/// The cluster tests: storms of a thousand callers and silos killed mid-refresh. Not run beside any other class,
/// so they never share the two cores with timing-exact tests (and those never slow the storms).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<Infrastructure>
{
    public const string Name = "cluster";
}

/// <summary>Settings shared by the silos of one test cluster.</summary>
public sealed record ClusterSpec(string Database, string Redis, string ClusterId, string ServiceId, string EncryptionKey, Dictionary<string, string?> Settings)
{
    public static ClusterSpec New(string database, string redis, Dictionary<string, string?> settings, string? serviceId = null)
    {
        var id = $"c{Guid.NewGuid():N}";
        return new ClusterSpec(database, redis, id, serviceId ?? id, BrokerSiloSettings.NewEncryptionKey(), settings);
    }

    /// <summary>The same cluster's settings for a silo run as a separate process (<see cref="Testing.Processes.SiloProcess"/>).</summary>
    public Dictionary<string, string?> ProcessSettings() => ProviderSettings.Merge(Settings, new()
    {
        ["Broker:Mode"] = "Cluster",
        ["Broker:Cluster:ClusterId"] = ClusterId,
        ["Broker:Cluster:ServiceId"] = ServiceId,
        ["Broker:Cluster:Redis"] = Redis,
        ["Broker:Cluster:PostgreSql"] = Database,
        ["Broker:Encryption:Keys:0:Id"] = "test",
        ["Broker:Encryption:Keys:0:Key"] = EncryptionKey,
    });

    public Task<BrokerSilo> StartSiloAsync() => BrokerSilo.StartAsync(new BrokerSiloSettings
    {
        Mode = BrokerMode.Cluster,
        PostgreSql = Database,
        Redis = Redis,
        ClusterId = ClusterId,
        ServiceId = ServiceId,
        EncryptionKey = EncryptionKey,
        Settings = Settings,
    });
}

/// <summary>
/// An embedded broker whose provider "test" reaches the authorization server's token and revocation
/// endpoints through a <see cref="FaultInjectingProxy"/>, and a <see cref="DirectClient"/> for tokens
/// obtained outside the broker.
/// </summary>
public class ProxiedBroker : IAsyncLifetime
{
    public TestAuthorizationServer Server { get; private set; } = null!;
    public FaultInjectingProxy Proxy { get; private set; } = null!;
    public BrokerSilo Silo { get; private set; } = null!;
    public DirectClient Direct { get; private set; } = null!;

    protected virtual TestAuthorizationServerOptions ServerOptions => new() { AccessTokenLifetime = TimeSpan.FromMinutes(10) };
    protected virtual Dictionary<string, string?> Settings => [];

    public async Task InitializeAsync()
    {
        Server = await TestAuthorizationServer.StartAsync(ServerOptions);
        Proxy = await FaultInjectingProxy.StartAsync(Server.Issuer);
        Silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(
                ProviderSettings.For("test", Server),
                new()
                {
                    ["Broker:Providers:test:TokenEndpoint"] = Proxy.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri,
                    ["Broker:Providers:test:RevocationEndpoint"] = Proxy.Endpoint(TestAuthorizationServer.RevocationPath).AbsoluteUri,
                    ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
                    ["Broker:Families:PersistRetryDelay"] = "00:00:00.2",
                },
                Settings),
        });
        await Server.AddRedirectUriAsync("broker", Silo.RedirectUri("test"));
        Direct = new DirectClient(Server);
        await Direct.RegisterAsync();
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Proxy.DisposeAsync();
        await Server.DisposeAsync();
    }
}
