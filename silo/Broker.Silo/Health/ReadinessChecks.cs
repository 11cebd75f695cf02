using Broker.Grains.Telemetry;
using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using StackExchange.Redis;

namespace Broker.Silo.Health;

/// <summary>Can this silo read and write grain state?</summary>
public sealed class PostgreSqlHealthCheck(string connectionString) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 2 }.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"PostgreSQL unreachable: {ex.GetType().Name}");
        }
    }
}

/// <summary>Can this silo reach the membership store?</summary>
public sealed class RedisHealthCheck(string configuration) : IHealthCheck, IDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() =>
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        return ConnectionMultiplexer.ConnectAsync(options);
    });

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await (await _connection.Value).GetDatabase().PingAsync();
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis unreachable: {ex.GetType().Name}");
        }
    }

    public void Dispose()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully) _connection.Value.Result.Dispose();
    }
}

/// <summary>Is this silo an active member of its cluster, and does the membership table still say so?</summary>
public sealed class MembershipHealthCheck(ISiloStatusOracle oracle, Broker.Silo.Cluster.ClusterMembership membership) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(membership.LostBecause is { } why ? HealthCheckResult.Unhealthy($"left the cluster: {why}")
            : oracle.CurrentStatus == SiloStatus.Active ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"silo is {oracle.CurrentStatus}"));
}

/// <summary>
/// Can each provider's metadata be had (cached)? A provider that is down degrades the silo, it does not kill
/// it: valid tokens are still served. Families holding unstored rotated tokens degrade it too.
/// </summary>
public sealed class ProvidersHealthCheck(ProviderRegistry providers, MetadataStore metadata, BrokerMetrics metrics,
    Broker.OAuth.Http.ProviderCircuitBreakers breakers) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        foreach (var provider in providers.All)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                await metadata.GetAsync(provider, timeout.Token);
            }
            catch (Exception ex) when (ex is Broker.Abstractions.BrokerException or OperationCanceledException)
            {
                problems.Add($"provider {provider.Name}: metadata unavailable");
            }
        }
        problems.AddRange(breakers.NotClosed().Select(b => $"provider {b}"));
        if (metrics.PendingPersistence > 0) problems.Add($"{metrics.PendingPersistence} families hold rotated tokens not yet stored");
        return problems.Count == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Degraded(string.Join("; ", problems));
    }
}

/// <summary>
/// The body of <c>/health/ready</c>: the overall status, then each check with its status and reason, so an
/// operator sees which check made the silo degraded or unready. The reasons are our own words (no exception text).
/// </summary>
public static class ReadinessReport
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var text = new System.Text.StringBuilder().Append(report.Status).Append('\n');
        foreach (var (name, entry) in report.Entries)
        {
            text.Append(name).Append(": ").Append(entry.Status);
            if (entry.Description is { Length: > 0 } reason) text.Append(" (").Append(reason).Append(')');
            text.Append('\n');
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.ToString());
    }
}
