using Broker.Silo.Hosting;
using Broker.Silo.Storage;
using Broker.Silo.Tests.Cluster;
using Broker.Testing.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Broker.Silo.Tests.Storage;

[Collection(ClusterCollection.Name)]
public sealed class SchemaMigratorTests(ClusterInfrastructure infrastructure)
{
    [Fact]
    public async Task Migrate_applies_every_script_once_and_can_run_again()
    {
        var database = await infrastructure.Postgres.CreateDatabaseAsync();

        var first = await SchemaMigrator.MigrateAsync(database);
        var second = await SchemaMigrator.MigrateAsync(database);

        Assert.Equal(SchemaMigrator.Scripts.Select(s => s.Name), first);
        Assert.Empty(second);
        await SchemaMigrator.EnsureCurrentAsync(database);

        // The scripts themselves are idempotent too: running one again by hand changes nothing and fails nothing.
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var again = new NpgsqlCommand(SchemaMigrator.Scripts[0].Sql, connection, transaction);
        await again.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM orleansquery WHERE querykey IN ('ReadFromStorageKey','WriteToStorageKey','ClearStorageKey')", connection);
        Assert.Equal(3L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Silo_refuses_to_start_in_cluster_mode_without_the_schema()
    {
        var start = await infrastructure.NewClusterAsync(migrate: false);

        var ex = await Assert.ThrowsAsync<SchemaMissingException>(start);

        Assert.Contains("migrate", ex.Message);
    }

    [Fact]
    public async Task Silo_refuses_to_start_in_cluster_mode_without_an_encryption_key()
    {
        var database = await infrastructure.Postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = BrokerMode.Cluster,
            PostgreSql = database,
            Redis = infrastructure.Redis.Configuration,
            ClusterId = $"c{Guid.NewGuid():N}",
        }));

        Assert.Contains("Broker:Encryption:Keys", string.Join(" ", ex.Failures));
    }

    [Fact]
    public async Task Cluster_mode_without_redis_or_postgres_names_the_missing_settings()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = BrokerMode.Cluster,
            EncryptionKey = BrokerSiloSettings.NewEncryptionKey(),
        }));

        var failures = string.Join(" ", ex.Failures);
        Assert.Contains("Broker:Cluster:Redis", failures);
        Assert.Contains("Broker:Cluster:PostgreSql", failures);
    }
}
