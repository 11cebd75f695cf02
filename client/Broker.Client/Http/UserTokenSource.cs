namespace Broker.Client;

/// <summary>The access token of the user a request is made for (the subject resolver names the user).</summary>
internal sealed class UserTokenSource(
    BrokerClient broker, HandlerTokenCache cache, string provider, Func<HttpRequestMessage, string> subjectOf) : IAccessTokenSource
{
    public Task<BrokerToken> GetAsync(HttpRequestMessage request, bool forceRefresh, CancellationToken cancellationToken)
    {
        var subject = subjectOf(request);
        return cache.GetAsync(KeyOf(subject), forceRefresh,
            (force, ct) => broker.GetAccessTokenAsync(provider, subject, force, cancellationToken: ct), cancellationToken);
    }

    public Task<BrokerDpopProof> ProveAsync(HttpRequestMessage request, string? nonce, CancellationToken cancellationToken) =>
        broker.CreateProofAsync(provider, subjectOf(request), request.Method, request.RequestUri!, nonce, cancellationToken);

    public void Forget(HttpRequestMessage request) => cache.Forget(KeyOf(subjectOf(request)));

    private string KeyOf(string subject) => $"user\n{provider}\n{subject}";
}
