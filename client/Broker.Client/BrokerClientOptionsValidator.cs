using Microsoft.Extensions.Options;

namespace Broker.Client;

/// <summary>
/// Stops the calling service at start when it could not reach the broker, naming the setting. The client
/// cannot reference Broker.Abstractions (Orleans), so it follows the broker's options pattern on its own.
/// </summary>
internal sealed class BrokerClientOptionsValidator : IValidateOptions<BrokerClientOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerClientOptions options)
    {
        var failures = new List<string>();
        var p = BrokerClientOptions.Section;
        if (options.Address is not { IsAbsoluteUri: true })
            failures.Add($"{p}:Address is required (the broker's gRPC address).");
        if (options.Deadline <= TimeSpan.Zero)
            failures.Add($"{p}:Deadline must be positive (was {options.Deadline}).");
        if (options.MaxAttempts is < 1 or > 5)
            failures.Add($"{p}:MaxAttempts must be 1-5 (was {options.MaxAttempts}).");
        if (options.WatchReconnectDelay <= TimeSpan.Zero)
            failures.Add($"{p}:WatchReconnectDelay must be positive (was {options.WatchReconnectDelay}).");
        if (options.HandlerRefreshBeforeExpiry < TimeSpan.Zero)
            failures.Add($"{p}:HandlerRefreshBeforeExpiry must not be negative (was {options.HandlerRefreshBeforeExpiry}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
