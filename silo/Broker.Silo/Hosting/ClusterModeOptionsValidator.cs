using Microsoft.Extensions.Options;

namespace Broker.Silo.Hosting;

/// <summary>Checks the silo's place in the cluster; storage and clustering are required in cluster mode only.</summary>
public sealed class ClusterModeOptionsValidator(BrokerMode mode) : IValidateOptions<ClusterModeOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterModeOptions options)
    {
        var failures = new List<string>();
        var p = ClusterModeOptions.Section;
        if (mode == BrokerMode.Cluster)
        {
            if (string.IsNullOrWhiteSpace(options.Redis)) failures.Add($"{p}:Redis is required in cluster mode (e.g. 127.0.0.1:6379).");
            if (string.IsNullOrWhiteSpace(options.PostgreSql)) failures.Add($"{p}:PostgreSql is required in cluster mode (an Npgsql connection string).");
            if (string.IsNullOrWhiteSpace(options.ClusterId)) failures.Add($"{p}:ClusterId must not be empty.");
            if (string.IsNullOrWhiteSpace(options.ServiceId)) failures.Add($"{p}:ServiceId must not be empty.");
            if (string.IsNullOrWhiteSpace(options.AdvertisedAddress)) failures.Add($"{p}:AdvertisedAddress must be an IP address or a host name.");
        }
        if (!HttpEndpointOptionsValidator.IsPort(options.SiloPort)) failures.Add($"{p}:SiloPort must be 1-65535.");
        if (!HttpEndpointOptionsValidator.IsPort(options.GatewayPort)) failures.Add($"{p}:GatewayPort must be 1-65535.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
