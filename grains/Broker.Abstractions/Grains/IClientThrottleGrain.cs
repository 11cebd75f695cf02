namespace Broker.Abstractions.Grains;

/// <summary>
/// The cluster-wide budget of token requests of one OAuth client at one provider. Key: provider/client id
/// (<see cref="Identity.ClientKey"/>). Every grain asks it before it sends a token request, so the limit
/// holds however many silos there are, and a provider's Retry-After stops every silo at once.
/// </summary>
public interface IClientThrottleGrain : IGrainWithStringKey
{
    /// <summary>Takes one request from the budget; returns null when allowed, else how long to wait and why.</summary>
    Task<HoldBack?> TryAcquire();

    /// <summary>
    /// The provider said to stop: no request for this long. <paramref name="providerUnavailable"/> for a 503 (the
    /// provider is down or overloaded), false for a 429 (a rate limit).
    /// </summary>
    Task Backoff(TimeSpan retryAfter, bool providerUnavailable);

    /// <summary>Until when requests are held back, if they are.</summary>
    Task<DateTimeOffset?> BlockedUntil();
}

/// <summary>Why a token request must wait: the provider's 503, or a rate limit (its 429 or the client's own budget).</summary>
[GenerateSerializer, Immutable]
public sealed record HoldBack([property: Id(0)] TimeSpan Wait, [property: Id(1)] bool ProviderUnavailable);
