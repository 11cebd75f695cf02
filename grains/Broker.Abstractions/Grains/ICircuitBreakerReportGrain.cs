namespace Broker.Abstractions.Grains;

/// <summary>
/// One per silo, keyed by the silo's address (<c>SiloAddress.ToParsableString()</c>) and placed on that silo: its
/// providers' circuit breakers, which live in the silo's memory. broker-ops asks each active silo.
/// </summary>
public interface ICircuitBreakerReportGrain : IGrainWithStringKey
{
    Task<IReadOnlyList<CircuitBreakerReading>> Read();
}

/// <summary>One breaker of one provider on one silo: its HTTP client (refresh or retryable) and state (closed, open, half-open, isolated).</summary>
[GenerateSerializer, Immutable]
public sealed record CircuitBreakerReading([property: Id(0)] string Provider, [property: Id(1)] string Client, [property: Id(2)] string State);
