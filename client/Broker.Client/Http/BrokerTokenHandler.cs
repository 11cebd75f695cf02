using System.Net;
using System.Net.Http.Headers;

namespace Broker.Client;

/// <summary>
/// Attaches a broker access token to every request. On a 401 it asks the broker once for a forced refresh
/// and sends the request once more; a 403 insufficient_scope and a 429 become typed exceptions.
/// </summary>
internal sealed class BrokerTokenHandler(IAccessTokenSource tokens) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(request, forceRefresh: false, cancellationToken);
        // The body may have to go twice: buffer it before the first send.
        if (request.Content is not null) await request.Content.LoadIntoBufferAsync(cancellationToken);

        var response = await SendWith(request, token, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            // The API refused a token we thought valid (revoked, rotated elsewhere): one forced refresh, one retry.
            response.Dispose();
            token = await tokens.GetAsync(request, forceRefresh: true, cancellationToken);
            response = await SendWith(request, token, cancellationToken);
        }

        if (response.StatusCode == HttpStatusCode.Forbidden && InsufficientScope(response) is var (insufficient, scope) && insufficient)
        {
            response.Dispose();
            throw new InsufficientScopeException(scope);
        }
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var retryAfter = response.Headers.RetryAfter is { } header
                ? header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null)
                : null;
            response.Dispose();
            throw new ExternalApiThrottledException(retryAfter);
        }
        return response;
    }

    private Task<HttpResponseMessage> SendWith(HttpRequestMessage request, BrokerToken token, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue(token.TokenType, token.AccessToken);
        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>RFC 6750 §3: <c>WWW-Authenticate: Bearer error="insufficient_scope", scope="..."</c>.</summary>
    private static (bool Insufficient, string? Scope) InsufficientScope(HttpResponseMessage response)
    {
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            var parameter = challenge.Parameter ?? "";
            if (!parameter.Contains("error=\"insufficient_scope\"", StringComparison.Ordinal)) continue;
            var start = parameter.IndexOf("scope=\"", StringComparison.Ordinal);
            if (start < 0) return (true, null);
            start += "scope=\"".Length;
            var end = parameter.IndexOf('"', start);
            return (true, end > start ? parameter[start..end] : null);
        }
        return (false, null);
    }
}
