using System.Collections.Concurrent;
using Polly.CircuitBreaker;

namespace Broker.OAuth.Http;

/// <summary>The thresholds of a provider's circuit breakers: <c>Broker:Providers:{name}:CircuitBreaker</c>.</summary>
public sealed class CircuitBreakerOptions
{
    /// <summary>Requests in <see cref="SamplingDuration"/> before the breaker may open.</summary>
    public int MinimumThroughput { get; set; } = 5;

    /// <summary>Share of failed requests (5xx, timeouts, refused connections; never 429 or 503 with Retry-After) that opens it.</summary>
    public double FailureRatio { get; set; } = 0.5;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long it stays open before one request may try again.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The state of every provider's breakers in this process, for readiness.</summary>
public sealed class ProviderCircuitBreakers
{
    private readonly ConcurrentDictionary<(string Provider, string Client), CircuitBreakerStateProvider> _states = new();

    /// <summary>The state provider to attach to one breaker (one per provider and HTTP client).</summary>
    public CircuitBreakerStateProvider For(string provider, string client) => _states.GetOrAdd((provider, client), _ => new());

    /// <summary>Every breaker made so far: (provider, client, state in lower case), ordered.</summary>
    public IReadOnlyList<(string Provider, string Client, string State)> All() =>
        [.. _states.OrderBy(s => s.Key.Provider, StringComparer.Ordinal).ThenBy(s => s.Key.Client, StringComparer.Ordinal)
            .Select(s => (s.Key.Provider, s.Key.Client, s.Value.CircuitState.ToString().ToLowerInvariant()))];

    /// <summary>Breakers that are not closed, as "provider (client): state".</summary>
    public IReadOnlyList<string> NotClosed() =>
        [.. _states.Where(s => s.Value.CircuitState != CircuitState.Closed)
            .OrderBy(s => s.Key.Provider, StringComparer.Ordinal).ThenBy(s => s.Key.Client, StringComparer.Ordinal)
            .Select(s => $"{s.Key.Provider} ({s.Key.Client}): circuit {s.Value.CircuitState.ToString().ToLowerInvariant()}")];
}
