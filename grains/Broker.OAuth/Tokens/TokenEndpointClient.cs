using System.Net;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.OAuth.Discovery;
using Broker.OAuth.Dpop;
using Broker.OAuth.Http;
using Broker.OAuth.Providers;
using ClientAssertion = Duende.IdentityModel.Client.ClientAssertion;
using Duende.IdentityModel.Client;
using Polly.CircuitBreaker;

namespace Broker.OAuth.Tokens;

/// <summary>
/// Sends token requests (RFC 6749 §4.1.3, §4.4, §6) and revocations (RFC 7009) through Duende.IdentityModel,
/// and turns every way they can end into a <see cref="TokenEndpointOutcome"/>.
/// </summary>
/// <remarks>
/// With a DPoP key (RFC 9449) every request carries a fresh proof with the provider's last nonce; a
/// <c>use_dpop_nonce</c> refusal issued nothing, so the request is prepared again (new proof, new client assertion)
/// and sent exactly once more with the nonce the answer gave.
/// </remarks>
public sealed class TokenEndpointClient(OAuthHttpClients http, TimeProvider time, DpopNonces nonces)
{
    public Task<TokenEndpointOutcome> RedeemCodeAsync(Provider provider, AuthorizationServerMetadata metadata,
        string code, string codeVerifier, ScopeSet requested, CancellationToken cancellationToken = default, IDpopProver? dpop = null) =>
        SendAsync(provider, metadata, requested, dpop, () => http.ForSingleAttemptRequests(provider.Name),
            () => Authenticate(new AuthorizationCodeTokenRequest
            {
                Address = metadata.TokenEndpointFor(MutualTls(provider)).AbsoluteUri,
                Code = code,
                CodeVerifier = codeVerifier,
                RedirectUri = provider.RedirectUri.AbsoluteUri,
            }, provider, metadata),
            (client, request) => client.RequestAuthorizationCodeTokenAsync(request, cancellationToken));

    /// <summary>Sends the refresh token once. Never retried here: see <see cref="OAuthHttpClients"/>.</summary>
    public Task<TokenEndpointOutcome> RefreshAsync(Provider provider, AuthorizationServerMetadata metadata,
        string refreshToken, ScopeSet held, CancellationToken cancellationToken = default, IDpopProver? dpop = null) =>
        SendAsync(provider, metadata, held, dpop, () => http.ForSingleAttemptRequests(provider.Name),
            () => Authenticate(new RefreshTokenRequest
            {
                Address = metadata.TokenEndpointFor(MutualTls(provider)).AbsoluteUri,
                RefreshToken = refreshToken,
            }, provider, metadata),
            (client, request) => client.RequestRefreshTokenAsync(request, cancellationToken));

    public Task<TokenEndpointOutcome> ClientCredentialsAsync(Provider provider, AuthorizationServerMetadata metadata,
        ScopeSet scopes, string resource, CancellationToken cancellationToken = default, IDpopProver? dpop = null) =>
        // A resent request would carry the same proof, whose jti the server holds to one use: one attempt with DPoP.
        SendAsync(provider, metadata, scopes, dpop, () => dpop is null ? ForRepeatableRequests(provider) : http.ForSingleAttemptRequests(provider.Name),
            () =>
            {
                var request = Authenticate(new ClientCredentialsTokenRequest
                {
                    Address = metadata.TokenEndpointFor(MutualTls(provider)).AbsoluteUri,
                    Scope = scopes.IsEmpty ? null : scopes.ToString(),
                }, provider, metadata);
                if (resource.Length > 0) request.Resource.Add(resource);
                return request;
            },
            (client, request) => client.RequestClientCredentialsTokenAsync(request, cancellationToken));

    /// <summary>
    /// Client credentials and revocation may be retried, except with private_key_jwt: a retry would resend the
    /// same assertion, and servers that hold each jti to one use (RFC 7523 §3) would refuse the client.
    /// </summary>
    private HttpClient ForRepeatableRequests(Provider provider) =>
        provider.Options.ClientAuthentication == ClientAuthenticationMethod.PrivateKeyJwt
            ? http.ForSingleAttemptRequests(provider.Name)
            : http.ForRetryableRequests(provider.Name);

    /// <summary>RFC 7009 revocation. True when the server confirmed it (200), false when it could not be done.</summary>
    public async Task<bool> RevokeAsync(Provider provider, AuthorizationServerMetadata metadata, string token,
        string tokenTypeHint, CancellationToken cancellationToken = default)
    {
        if (metadata.RevocationEndpointFor(MutualTls(provider)) is not { } endpoint) return false;
        try
        {
            var response = await ForRepeatableRequests(provider).RevokeTokenAsync(Authenticate(new TokenRevocationRequest
            {
                Address = endpoint.AbsoluteUri,
                Token = token,
                TokenTypeHint = tokenTypeHint,
            }, provider, metadata), cancellationToken);
            return !response.IsError;
        }
        catch (Exception ex) when (IsTransportFailure(ex) || IsPreparationFailure(ex))
        {
            return false;
        }
    }

    private T Authenticate<T>(T request, Provider provider, AuthorizationServerMetadata metadata) where T : ProtocolRequest
    {
        request.ClientId = provider.ClientId;
        switch (provider.Options.ClientAuthentication)
        {
            case ClientAuthenticationMethod.PrivateKeyJwt:
                // A new assertion per request: its jti is single-use at the server.
                var audience = provider.Options.ClientAssertionAudience == ClientAssertionAudience.TokenEndpoint
                    ? metadata.TokenEndpoint.AbsoluteUri
                    : metadata.Issuer;
                request.ClientAssertion = new ClientAssertion
                {
                    Type = JwtClientAssertion.Type,
                    Value = JwtClientAssertion.Create(provider.ClientId, audience, provider.SigningKey, time.GetUtcNow()),
                };
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                break;
            case ClientAuthenticationMethod.TlsClientAuth:
                // RFC 8705 §2: the TLS client certificate authenticates; client_id goes in the body.
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                break;
            default:
                request.ClientSecret = provider.ClientSecret;
                request.ClientCredentialStyle = provider.Options.ClientAuthentication == ClientAuthenticationMethod.ClientSecretPost
                    ? ClientCredentialStyle.PostBody
                    : ClientCredentialStyle.AuthorizationHeader;
                // RFC 6749 §2.3.1: id and secret are form-encoded before they are base64-encoded.
                request.AuthorizationHeaderStyle = BasicAuthenticationHeaderStyle.Rfc6749;
                break;
        }
        return request;
    }

    private static bool MutualTls(Provider provider) => provider.Options.ClientAuthentication == ClientAuthenticationMethod.TlsClientAuth;

    private static bool IsPreparationFailure(Exception ex) =>
        ex is System.Security.Cryptography.CryptographicException or IOException or InvalidOperationException
            or ArgumentException or UnauthorizedAccessException;

    private async Task<TokenEndpointOutcome> SendAsync<TRequest>(Provider provider, AuthorizationServerMetadata metadata, ScopeSet requested, IDpopProver? dpop,
        Func<HttpClient> client, Func<TRequest> prepare, Func<HttpClient, TRequest, Task<TokenResponse>> send)
        where TRequest : ProtocolRequest
    {
        TokenResponse response;
        for (var attempt = 1; ; attempt++)
        {
            HttpClient sender;
            TRequest request;
            try
            {
                // Loading a client certificate or signing an assertion can fail (a replaced file, a bad key); nothing
                // has left the process then, so the caller may treat it like a refused connection.
                sender = client();
                request = prepare();
            }
            catch (Exception ex) when (IsPreparationFailure(ex))
            {
                return new TokenEndpointOutcome.NotSent($"the request could not be prepared ({ex.GetType().Name}).");
            }
            if (dpop is not null)
            {
                try
                {
                    request.DPoPProofToken = await dpop.ProveAsync("POST", new Uri(request.Address!), nonces.For(provider.Name),
                        DpopUse.Algorithm(provider, metadata) ?? DpopKey.DefaultAlgorithm);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The key's holder could not sign (a grain call failed): nothing was sent.
                    return new TokenEndpointOutcome.NotSent($"the DPoP proof could not be made ({ex.GetType().Name}).");
                }
            }

            try
            {
                response = await send(sender, request);
            }
            catch (Exception ex) when (IsTransportFailure(ex))
            {
                return Classify(ex);
            }
            if (dpop is null) break;
            // RFC 9449 §8: every answer may carry the nonce to use next.
            nonces.Remember(provider.Name, NonceOf(response));
            if (attempt > 1 || !IsUseDpopNonce(response) || NonceOf(response) is null) break;
        }

        if (!response.IsError)
        {
            if (string.IsNullOrEmpty(response.AccessToken))
                return new TokenEndpointOutcome.OutcomeUnknown("the token response lacks access_token.");
            // The granted scopes decide what a caller may be handed: an answer that names them unreadably is not guessed at.
            return GrantedScopes(response, requested) is { } granted
                ? new TokenEndpointOutcome.Issued(ToTokens(provider, granted, response))
                : new TokenEndpointOutcome.OutcomeUnknown("the token response's scope cannot be parsed.");
        }

        if (response.ErrorType == ResponseErrorType.Exception && response.Exception is { } exception)
            return Classify(exception);

        var status = (int)response.HttpStatusCode;
        var retryAfter = RetryAfterOf(response.HttpResponse);
        // 429 and 503 say the server did not take the request on (RFC 6585 §4, RFC 9110 §15.6.4).
        if (response.HttpStatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            return new TokenEndpointOutcome.Throttled(retryAfter ?? TimeSpan.FromSeconds(5), status);
        }
        // RFC 6749 §5.2: an error answer is 400, or 401 for invalid_client; any 4xx with an "error" is a refusal.
        // (For statuses other than 400 the library reports the reason phrase as Error; the body's "error" is what counts.)
        var error = response.TryGet("error") ?? (response.ErrorType == ResponseErrorType.Protocol ? response.Error : null);
        if (!string.IsNullOrEmpty(error) && status is >= 400 and < 500)
            return new TokenEndpointOutcome.Rejected(Sanitize(error), status);
        // A bare 400, 401 or 403 is still the server's answer (some servers send no body): a refusal, not a lost answer.
        if (status is 400 or 401 or 403) return new TokenEndpointOutcome.Refused(status);
        // Any other 5xx, or an unreadable answer: the server may have
        // processed the request before failing, so a spent refresh token cannot be ruled out.
        return new TokenEndpointOutcome.OutcomeUnknown($"the token endpoint answered {status}.");
    }

    /// <summary>
    /// RFC 6749 §5.1: scope may be omitted when it equals what was requested (an empty one names nothing else either).
    /// Null when it is there but not a string of valid scope tokens (§3.3).
    /// </summary>
    private static ScopeSet? GrantedScopes(TokenResponse response, ScopeSet requested)
    {
        if (response.Json is not { } json || !json.TryGetProperty("scope", out var scope)) return requested;
        if (scope.ValueKind == System.Text.Json.JsonValueKind.Null) return requested;
        if (scope.ValueKind != System.Text.Json.JsonValueKind.String) return null;
        if (!ScopeSet.TryParse(scope.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries), out var granted, out _)) return null;
        return granted.IsEmpty ? requested : granted;
    }

    private TokenSet ToTokens(Provider provider, ScopeSet scopes, TokenResponse response)
    {
        // RFC 6749 §5.1: expires_in is only RECOMMENDED; a missing one gets the provider's default, never "forever".
        var lifetime = response.ExpiresIn > 0
            ? TimeSpan.FromSeconds(response.ExpiresIn)
            : provider.Options.DefaultAccessTokenLifetime;
        var answered = time.GetUtcNow();
        return new TokenSet(
            response.AccessToken!,
            string.IsNullOrEmpty(response.TokenType) ? "Bearer" : response.TokenType,
            answered + lifetime,
            string.IsNullOrEmpty(response.RefreshToken) ? null : response.RefreshToken,
            string.IsNullOrEmpty(response.IdentityToken) ? null : response.IdentityToken,
            scopes) { IssuedAt = answered };
    }

    private static string? NonceOf(TokenResponse response) =>
        response.HttpResponse?.Headers.TryGetValues(DpopProof.NonceHeaderName, out var values) == true ? values.FirstOrDefault() : null;

    // RFC 9449 §8: the server refused for want of a (fresh) nonce and issued nothing.
    private static bool IsUseDpopNonce(TokenResponse response) =>
        response.IsError && string.Equals(response.TryGet("error") ?? response.Error, "use_dpop_nonce", StringComparison.Ordinal);

    private static bool IsTransportFailure(Exception ex) =>
        ex is HttpRequestException or OperationCanceledException or Polly.ExecutionRejectedException or IOException;

    /// <summary>Decides whether a failed request could have reached the server.</summary>
    internal static TokenEndpointOutcome Classify(Exception ex) => ex switch
    {
        BrokenCircuitException => new TokenEndpointOutcome.NotSent("the circuit breaker for this provider is open."),
        Polly.RateLimiting.RateLimiterRejectedException => new TokenEndpointOutcome.NotSent("the request was rate limited locally."),
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError }
            => new TokenEndpointOutcome.NotSent("no connection to the token endpoint could be made.", Unreachable: true),
        // The server answered (and may have processed a refresh), but with more than MaxResponseBytes: refused unread.
        HttpRequestException { HttpRequestError: HttpRequestError.ConfigurationLimitExceeded }
            => new TokenEndpointOutcome.OutcomeUnknown("the answer is larger than the provider's MaxResponseBytes and was refused unread."),
        _ => new TokenEndpointOutcome.OutcomeUnknown($"the request failed after it may have been sent ({ex.GetType().Name}).", Unanswered: true),
    };

    private TimeSpan? RetryAfterOf(HttpResponseMessage? response)
    {
        var header = response?.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date - time.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        return null;
    }

    // The error code is echoed into logs and statuses: keep it to the RFC 6749 §5.2 character set.
    private static string Sanitize(string error)
    {
        var cut = error.Length > 64 ? error[..64] : error;
        return new string(cut.Where(c => c is >= ' ' and <= '~' and not '"' and not '\\').ToArray());
    }
}
