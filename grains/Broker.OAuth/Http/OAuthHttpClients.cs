using Broker.Abstractions.Identity;

namespace Broker.OAuth.Http;

/// <summary>
/// Names the two kinds of HttpClient each provider gets. They differ in one rule: whether a request may be
/// sent twice. Refresh and code redemption must not be (a replayed refresh token makes the server revoke the
/// family), so their client has a timeout and a circuit breaker but no retry.
/// </summary>
public sealed class OAuthHttpClients(IHttpClientFactory factory)
{
    public static string RetryableName(ProviderName provider) => $"broker.oauth.{provider}.retryable";
    public static string SingleAttemptName(ProviderName provider) => $"broker.oauth.{provider}.single-attempt";

    /// <summary>Discovery, client credentials, revocation: safe to repeat.</summary>
    public HttpClient ForRetryableRequests(ProviderName provider) => factory.CreateClient(RetryableName(provider));

    /// <summary>Refresh and authorization-code grants: each request is sent at most once.</summary>
    public HttpClient ForSingleAttemptRequests(ProviderName provider) => factory.CreateClient(SingleAttemptName(provider));
}
