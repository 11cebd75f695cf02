namespace Broker.Client;

/// <summary>The service's own client-credentials token, the same for every request.</summary>
internal sealed class ClientTokenSource(BrokerClient broker, HandlerTokenCache cache, string provider, string[] scopes) : IAccessTokenSource
{
    private readonly string _key = $"client\n{provider}\n{string.Join(' ', scopes.Order(StringComparer.Ordinal))}";

    // A client-credentials token cannot be force-refreshed at the broker; after a 401 the cached one is dropped
    // and the broker's current one is asked for again.
    public Task<BrokerToken> GetAsync(HttpRequestMessage request, bool forceRefresh, CancellationToken cancellationToken) =>
        cache.GetAsync(_key, forceRefresh, (_, ct) => broker.GetClientTokenAsync(provider, scopes, cancellationToken: ct), cancellationToken);

    public Task<BrokerDpopProof> ProveAsync(HttpRequestMessage request, string? nonce, CancellationToken cancellationToken) =>
        broker.CreateClientTokenProofAsync(provider, scopes, request.Method, request.RequestUri!, nonce, cancellationToken: cancellationToken);

    public void Forget(HttpRequestMessage request) => cache.Forget(_key);
}
