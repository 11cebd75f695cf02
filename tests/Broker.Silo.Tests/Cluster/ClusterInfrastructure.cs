using Broker.Silo.Hosting;
using Broker.Silo.Storage;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;

namespace Broker.Silo.Tests.Cluster;

/// <summary>A real PostgreSQL, a real Redis and the test authorization server, shared by the cluster-mode tests.</summary>
public sealed class ClusterInfrastructure : IAsyncLifetime
{
    public PostgresServer Postgres { get; private set; } = null!;
    public RedisServer Redis { get; private set; } = null!;
    public TestAuthorizationServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        Redis = await RedisServer.StartAsync();
        Server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
    }

    /// <summary>The connection string of the database <see cref="NewClusterAsync"/> made last.</summary>
    public string? LastDatabase { get; private set; }

    /// <summary>A migrated database of its own, and settings for silos of one cluster on it.</summary>
    public async Task<Func<Task<BrokerSilo>>> NewClusterAsync(bool migrate = true, string? encryptionKey = null, bool withoutCallers = false,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var database = await Postgres.CreateDatabaseAsync();
        LastDatabase = database;
        if (migrate) await SchemaMigrator.MigrateAsync(database);
        var clusterId = $"c{Guid.NewGuid():N}";
        var key = encryptionKey ?? BrokerSiloSettings.NewEncryptionKey();
        return async () =>
        {
            var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
            {
                Mode = BrokerMode.Cluster,
                PostgreSql = database,
                Redis = Redis.Configuration,
                ClusterId = clusterId,
                ServiceId = clusterId,
                EncryptionKey = key,
                Settings = WithExtra(ProviderSettings.For("test", Server), settings),
                WithoutCallers = withoutCallers,
            });
            await Server.AddRedirectUriAsync("broker", silo.RedirectUri("test"));
            return silo;
        };
    }

    private static Dictionary<string, string?> WithExtra(Dictionary<string, string?> settings, IReadOnlyDictionary<string, string?>? extra)
    {
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>()) settings[key] = value;
        return settings;
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterInfrastructure>
{
    public const string Name = "cluster";
}
