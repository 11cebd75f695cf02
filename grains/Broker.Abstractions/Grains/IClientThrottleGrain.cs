namespace Broker.Abstractions.Grains;

/// <summary>
/// The cluster-wide budget of token requests of one OAuth client at one provider. Key: provider/client id
/// (<see cref="Identity.ClientKey"/>). Every grain asks it before it sends a token request, so the limit
/// holds however many silos there are, and a provider's Retry-After stops every silo at once.
/// </summary>
public interface IClientThrottleGrain : IGrainWithStringKey
{
    /// <summary>Takes one request from the budget; returns null when allowed, else how long to wait.</summary>
    Task<TimeSpan?> TryAcquire();

    /// <summary>The provider said to stop (429, or 503 with Retry-After): no request for this long.</summary>
    Task Backoff(TimeSpan retryAfter);

    /// <summary>Until when requests are held back, if they are.</summary>
    Task<DateTimeOffset?> BlockedUntil();
}
