using Broker.Abstractions.Grains;
using Broker.OAuth.Http;

namespace Broker.Grains.Operations;

/// <summary>Reads this silo's circuit breakers (see <see cref="ICircuitBreakerReportGrain"/>).</summary>
[OnSiloPlacement]
public sealed class CircuitBreakerReportGrain(ProviderCircuitBreakers breakers) : Grain, ICircuitBreakerReportGrain
{
    public Task<IReadOnlyList<CircuitBreakerReading>> Read() =>
        Task.FromResult<IReadOnlyList<CircuitBreakerReading>>(
            [.. breakers.All().Select(b => new CircuitBreakerReading(b.Provider, b.Client, b.State))]);
}
