using System.Net;
using System.Net.Http.Headers;

namespace Broker.Client;

/// <summary>
/// Attaches a broker access token to every request. On a 401 it asks the broker once for a forced refresh
/// and sends the request once more; a 403 insufficient_scope and a 429 become typed exceptions.
/// A DPoP-bound token (RFC 9449) goes as <c>Authorization: DPoP</c> with a fresh proof from the broker per request; a
/// 401 <c>use_dpop_nonce</c> is answered once with a new proof carrying the API's nonce.
/// </summary>
internal sealed class BrokerTokenHandler(IAccessTokenSource tokens) : DelegatingHandler
{
    // The last DPoP-Nonce each API origin gave (RFC 9449 §9); this handler's HttpClient talks to few of them.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _nonces = new(StringComparer.Ordinal);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(request, forceRefresh: false, cancellationToken);
        // The body may have to go twice: buffer it before the first send.
        if (request.Content is not null) await request.Content.LoadIntoBufferAsync(cancellationToken);

        var response = await SendWith(request, token, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized && IsDpop(token) && UseDpopNonce(response))
        {
            // RFC 9449 §9: the API wants its nonce in the proof; it did nothing with the request.
            response.Dispose();
            response = await SendWith(request, token, cancellationToken);
        }
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

    private async Task<HttpResponseMessage> SendWith(HttpRequestMessage request, BrokerToken token, CancellationToken cancellationToken)
    {
        request.Headers.Remove("DPoP");
        if (IsDpop(token))
        {
            var origin = request.RequestUri!.GetLeftPart(UriPartial.Authority);
            var proof = await tokens.ProveAsync(request, _nonces.GetValueOrDefault(origin), cancellationToken);
            if (!SameToken(proof, token))
            {
                // The broker holds a newer token than this handler (refreshed meanwhile): take it, and prove again.
                tokens.Forget(request);
                token = await tokens.GetAsync(request, forceRefresh: false, cancellationToken);
                proof = await tokens.ProveAsync(request, _nonces.GetValueOrDefault(origin), cancellationToken);
            }
            request.Headers.Authorization = new AuthenticationHeaderValue("DPoP", token.AccessToken);
            request.Headers.TryAddWithoutValidation("DPoP", proof.Proof);
            var response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues("DPoP-Nonce", out var nonces) && nonces.FirstOrDefault() is { Length: > 0 } nonce)
                _nonces[origin] = nonce;
            return response;
        }
        request.Headers.Authorization = new AuthenticationHeaderValue(token.TokenType, token.AccessToken);
        return await base.SendAsync(request, cancellationToken);
    }

    private static bool IsDpop(BrokerToken token) => string.Equals(token.TokenType, "DPoP", StringComparison.OrdinalIgnoreCase);

    private static bool SameToken(BrokerDpopProof proof, BrokerToken token)
    {
        var hash = Base64Url(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(token.AccessToken)));
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(hash), System.Text.Encoding.ASCII.GetBytes(proof.AccessTokenHash));
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>RFC 9449 §9: <c>WWW-Authenticate: DPoP error="use_dpop_nonce"</c> with a DPoP-Nonce header.</summary>
    private static bool UseDpopNonce(HttpResponseMessage response) =>
        response.Headers.Contains("DPoP-Nonce")
        && response.Headers.WwwAuthenticate.Any(c => string.Equals(c.Scheme, "DPoP", StringComparison.OrdinalIgnoreCase)
            && (c.Parameter ?? "").Contains("error=\"use_dpop_nonce\"", StringComparison.Ordinal));

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
