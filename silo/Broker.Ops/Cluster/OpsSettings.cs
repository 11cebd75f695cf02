using Microsoft.Extensions.Configuration;

namespace Broker.Ops.Cluster;

/// <summary>
/// The same settings the silos read (<c>Broker:Cluster:*</c>, from appsettings.json, <c>Broker__...</c>
/// environment variables or <c>--Broker:Cluster:Redis=...</c>), so one deployment's configuration serves both.
/// </summary>
public sealed record OpsSettings(string Redis, string PostgreSql, string ClusterId, string ServiceId)
{
    public static OpsSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Broker:Cluster");
        var missing = new List<string>();
        string Required(string name)
        {
            var value = section[name];
            if (string.IsNullOrWhiteSpace(value)) missing.Add($"Broker:Cluster:{name}");
            return value ?? "";
        }
        var settings = new OpsSettings(Required("Redis"), Required("PostgreSql"),
            section["ClusterId"] ?? "broker", section["ServiceId"] ?? "broker");
        if (missing.Count > 0) throw new OpsException($"missing setting(s): {string.Join(", ", missing)} (the cluster's own settings).", ExitCodes.Configuration);
        return settings;
    }
}

public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Configuration = 2;
    public const int NotFound = 3;
    public const int Unreachable = 4;
}

/// <summary>A failure the tool reports in one line, with its exit code.</summary>
public sealed class OpsException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
