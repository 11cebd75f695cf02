using Broker.Grains.Telemetry;
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
/// Can each provider's metadata be had (cached)? A provider that is down or misconfigured degrades the silo, it
/// does not kill it: valid tokens are still served. Open circuit breakers and families holding unstored rotated
/// tokens degrade it too.
/// </summary>
public sealed class ProvidersHealthCheck(ProviderProbe probe, BrokerMetrics metrics,
    Broker.OAuth.Http.ProviderCircuitBreakers breakers) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problems = (await probe.CheckAsync(cancellationToken))
            .Where(p => p.Condition != ProviderCondition.Ready)
            .Select(p => $"provider {p.Name}: {p.Describe()}")
            .ToList();
        problems.AddRange(breakers.NotClosed().Select(b => $"provider {b}"));
        if (metrics.PendingPersistence > 0) problems.Add($"{metrics.PendingPersistence} families hold rotated tokens not yet stored");
        return problems.Count == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Degraded(string.Join("; ", problems));
    }
}

/// <summary>
/// The body of <c>/health/ready</c>, JSON: the overall status, then each check with its status and reason, so an
/// operator (or a probe's log) sees which check made the silo degraded or unready:
/// <c>{"status":"Degraded","checks":{"providers":{"status":"Degraded","reason":"provider x: metadata unavailable"},...}}</c>.
/// The reasons are our own words (no exception text).
/// </summary>
public static class ReadinessReport
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new System.Text.Json.Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Description is { Length: > 0 } reason) json.WriteString("reason", reason);
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
