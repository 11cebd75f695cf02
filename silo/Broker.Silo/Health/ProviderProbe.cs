using Broker.Abstractions;
using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;

namespace Broker.Silo.Health;

/// <summary>What a provider's metadata says about it: usable, unreachable for now, or configured wrongly.</summary>
public enum ProviderCondition { Ready, Unavailable, Misconfigured }

public sealed record ProviderState(string Name, string Issuer, ProviderCondition Condition, string? Problem)
{
    /// <summary>One line for readiness and the start-up log, in our own words (plus the message of a configuration error).</summary>
    public string Describe() => Condition switch
    {
        ProviderCondition.Ready => "ready",
        ProviderCondition.Unavailable => "metadata unavailable",
        _ => $"configuration error: {Problem}",
    };
}

/// <summary>
/// Reads every provider's metadata (cached) with a short deadline. A provider rejected as misconfigured (its
/// metadata names another issuer) is told apart from one that cannot be reached: retrying does not fix the first.
/// </summary>
public sealed class ProviderProbe(ProviderRegistry providers, MetadataStore metadata)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    public Task<ProviderState[]> CheckAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(providers.All.OrderBy(p => p.Name.Value, StringComparer.Ordinal).Select(p => CheckAsync(p, cancellationToken)));

    private async Task<ProviderState> CheckAsync(Provider provider, CancellationToken cancellationToken)
    {
        var issuer = provider.Options.Issuer ?? "";
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Deadline);
            await metadata.GetAsync(provider, timeout.Token);
            return new ProviderState(provider.Name.Value, issuer, ProviderCondition.Ready, null);
        }
        catch (BrokerException ex) when (ex.Reason == BrokerErrorReason.ProviderRejected)
        {
            return new ProviderState(provider.Name.Value, issuer, ProviderCondition.Misconfigured, ex.Message);
        }
        catch (Exception ex) when (ex is BrokerException or OperationCanceledException)
        {
            return new ProviderState(provider.Name.Value, issuer, ProviderCondition.Unavailable, null);
        }
    }
}

/// <summary>The start-up report: each configured provider and its state, so a wrong issuer shows before the first call.</summary>
public static partial class ProviderStates
{
    public static async Task LogAsync(ProviderProbe probe, ILogger logger, CancellationToken cancellationToken)
    {
        var states = await probe.CheckAsync(cancellationToken);
        if (states.Length == 0) LogNone(logger);
        foreach (var state in states)
        {
            var level = state.Condition switch
            {
                ProviderCondition.Ready => LogLevel.Information,
                ProviderCondition.Unavailable => LogLevel.Warning,
                _ => LogLevel.Error,
            };
            LogState(logger, level, state.Name, state.Issuer, state.Describe());
        }
    }

    [LoggerMessage(EventId = 5010, Message = "Provider {Provider} ({Issuer}): {State}")]
    private static partial void LogState(ILogger logger, LogLevel level, string provider, string issuer, string state);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "No provider is configured (Broker:Providers): see the README's provider examples.")]
    private static partial void LogNone(ILogger logger);
}
