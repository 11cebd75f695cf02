namespace Broker.Client;

/// <summary>Where a <see cref="BrokerTokenHandler"/> gets the token for a request: the broker, through the handler cache.</summary>
internal interface IAccessTokenSource
{
    /// <summary>
    /// The token to send with <paramref name="request"/>. <paramref name="forceRefresh"/> after the API refused the
    /// last one: the held token is dropped and the broker asked again.
    /// </summary>
    Task<BrokerToken> GetAsync(HttpRequestMessage request, bool forceRefresh, CancellationToken cancellationToken);

    /// <summary>A DPoP proof for <paramref name="request"/> with the broker's current token of this source.</summary>
    Task<BrokerDpopProof> ProveAsync(HttpRequestMessage request, string? nonce, CancellationToken cancellationToken);

    /// <summary>Drops the held token (the broker holds a newer one), so the next <see cref="GetAsync"/> asks the broker without forcing a refresh.</summary>
    void Forget(HttpRequestMessage request);
}
