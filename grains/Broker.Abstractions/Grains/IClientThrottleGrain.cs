namespace Broker.Abstractions.Grains;

/// <summary>
/// The cluster-wide budget of token requests of one OAuth client at one provider. Key: provider/client id
/// (<see cref="Identity.ClientKey"/>). Every grain asks it before it sends a token request, so the limit
/// holds however many silos there are, and a provider's Retry-After stops every silo at once.
/// </summary>
public interface IClientThrottleGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes one request from the budget; returns null when allowed, else how long to wait and why. A request made for
    /// <paramref name="caller"/> also takes one from that caller's share, and one made for a client token counts
    /// <paramref name="clientTokenKey"/> among the keys that caller has created.
    /// </summary>
    Task<HoldBack?> TryAcquire(string? caller, string? clientTokenKey);

    /// <summary>
    /// The provider said to stop: no request for this long. <paramref name="providerUnavailable"/> for a 503 (the
    /// provider is down or overloaded), false for a 429 (a rate limit).
    /// </summary>
    Task Backoff(TimeSpan retryAfter, bool providerUnavailable);

    /// <summary>A token request ended without an answer (timed out, or its connection failed after sending).</summary>
    Task Unanswered();

    /// <summary>The provider answered a token request: it is not stalled.</summary>
    Task Answered();

    /// <summary>Until when requests are held back, if they are.</summary>
    Task<DateTimeOffset?> BlockedUntil();
}

/// <summary>
/// Why a token request must wait: the provider's 503, or a rate limit (its 429 or the client's own budget).
/// <paramref name="CallerLimit"/> names the caller's own limit that was reached (<c>caller_budget</c>,
/// <c>client_token_keys</c>), when it was that and not the client's. <paramref name="Unanswered"/> when the provider
/// left a token request unanswered (the hold of <c>UnansweredRequestBackoff</c>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HoldBack([property: Id(0)] TimeSpan Wait, [property: Id(1)] bool ProviderUnavailable,
    [property: Id(2)] string? CallerLimit = null, [property: Id(3)] bool Unanswered = false);
