using Broker.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Broker.Client;

/// <summary>An access token as a service uses it.</summary>
public sealed record BrokerToken(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, IReadOnlyList<string> Scopes)
{
    public override string ToString() => $"BrokerToken {{ TokenType = {TokenType}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>
/// A DPoP proof (RFC 9449) from the broker for one request: send it as the <c>DPoP</c> header, with the token as
/// <c>Authorization: DPoP &lt;token&gt;</c>. <see cref="AccessTokenHash"/> names the token it is for.
/// </summary>
public sealed record BrokerDpopProof(string Proof, string AccessTokenHash, DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"BrokerDpopProof {{ ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>What the family holds after <see cref="BrokerClient.CompleteAuthorizationAsync"/>.</summary>
/// <param name="Scopes">The scopes the provider granted.</param>
/// <param name="HasRefreshToken">False when the provider issued no refresh token: the family lasts as long as its access token.</param>
public sealed record CompletedAuthorization(IReadOnlyList<string> Scopes, bool HasRefreshToken);

/// <summary>The broker's API in a service's words; every failure is a <see cref="BrokerClientException"/>.</summary>
public sealed partial class BrokerClient(TokenBroker.TokenBrokerClient grpc, IOptions<BrokerClientOptions> options)
{
    private CallOptions Call(CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + options.Value.Deadline, cancellationToken: cancellationToken);

    public async Task<BrokerToken> GetAccessTokenAsync(string provider, string subject, bool forceRefresh = false,
        TimeSpan? minTimeToLive = null, CancellationToken cancellationToken = default)
    {
        var token = await grpc.GetAccessTokenAsync(new GetAccessTokenRequest
        {
            Provider = provider,
            Subject = subject,
            ForceRefresh = forceRefresh,
            MinTtlSeconds = (uint)(minTimeToLive?.TotalSeconds ?? 0),
        }, Call(cancellationToken));
        return ToToken(token);
    }

    public async Task<BrokerToken> GetClientTokenAsync(string provider, IEnumerable<string> scopes, string? resource = null,
        CancellationToken cancellationToken = default)
    {
        var request = new GetClientTokenRequest { Provider = provider, Resource = resource ?? "" };
        request.Scopes.AddRange(scopes);
        return ToToken(await grpc.GetClientTokenAsync(request, Call(cancellationToken)));
    }

    /// <summary>A DPoP proof for a request with the user's current DPoP-bound access token; <paramref name="nonce"/> is the API's DPoP-Nonce.</summary>
    public async Task<BrokerDpopProof> CreateProofAsync(string provider, string subject, HttpMethod method, Uri url, string? nonce = null,
        CancellationToken cancellationToken = default) =>
        ToProof(await grpc.CreateProofAsync(new CreateProofRequest
        {
            Provider = provider,
            Subject = subject,
            HttpMethod = method.Method,
            Url = url.AbsoluteUri,
            Nonce = nonce ?? "",
        }, Call(cancellationToken)));

    /// <summary>A DPoP proof for a request with the service's DPoP-bound client token of these scopes (and resource).</summary>
    public async Task<BrokerDpopProof> CreateClientTokenProofAsync(string provider, IEnumerable<string> scopes, HttpMethod method, Uri url,
        string? nonce = null, string? resource = null, CancellationToken cancellationToken = default)
    {
        var selector = new ClientTokenSelector { Resource = resource ?? "" };
        selector.Scopes.AddRange(scopes);
        return ToProof(await grpc.CreateProofAsync(new CreateProofRequest
        {
            Provider = provider,
            ClientToken = selector,
            HttpMethod = method.Method,
            Url = url.AbsoluteUri,
            Nonce = nonce ?? "",
        }, Call(cancellationToken)));
    }

    private static BrokerDpopProof ToProof(CreateProofResponse proof) => new(proof.Proof, proof.AccessTokenHash, proof.ExpiresAt.ToDateTimeOffset());

    /// <summary>
    /// Starts an authorization; send the user's browser to the returned URL. After the login the browser comes back to
    /// <paramref name="returnUrl"/> (one of the caller's registered return URLs) with a <c>completion</c> query
    /// parameter: hand it to <see cref="CompleteAuthorizationAsync"/> for the user signed in there.
    /// </summary>
    public async Task<Uri> BeginAuthorizationAsync(string provider, string subject, IEnumerable<string> scopes, Uri? returnUrl = null,
        bool replaceAccount = false, CancellationToken cancellationToken = default)
    {
        var request = new BeginAuthorizationRequest
        {
            Provider = provider,
            Subject = subject,
            ReturnUrl = returnUrl?.AbsoluteUri ?? "",
            ReplaceAccount = replaceAccount,
        };
        request.Scopes.AddRange(scopes);
        var response = await grpc.BeginAuthorizationAsync(request, Call(cancellationToken));
        return new Uri(response.AuthorizationUrl);
    }

    /// <summary>
    /// Gives the family of <paramref name="subject"/> the tokens of the authorization whose <c>completion</c> parameter
    /// reached the return URL. Call it only for the user signed in to your application in that browser: the broker
    /// refuses a completion begun for another subject, and discards it.
    /// </summary>
    public async Task<CompletedAuthorization> CompleteAuthorizationAsync(string provider, string subject, string completion,
        CancellationToken cancellationToken = default)
    {
        var response = await grpc.CompleteAuthorizationAsync(new CompleteAuthorizationRequest
        {
            Provider = provider,
            Subject = subject,
            Completion = completion,
        }, Call(cancellationToken));
        return new CompletedAuthorization([.. response.Scopes], response.HasRefreshToken);
    }

    private static BrokerToken ToToken(AccessToken token) =>
        new(token.AccessToken_, token.TokenType, token.ExpiresAt.ToDateTimeOffset(), [.. token.Scopes]);
}
