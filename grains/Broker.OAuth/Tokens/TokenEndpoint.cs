using Broker.Abstractions;
using Broker.Abstractions.Identity;
using Broker.OAuth.Discovery;
using Broker.OAuth.Dpop;
using Broker.OAuth.Providers;

namespace Broker.OAuth.Tokens;

/// <summary>The real endpoints: the provider's metadata, then <see cref="TokenEndpointClient"/>.</summary>
public sealed class TokenEndpoint(MetadataStore metadataStore, TokenEndpointClient client) : ITokenEndpoint
{
    public Task<TokenEndpointOutcome> RedeemCodeAsync(Provider provider, string code, string codeVerifier, ScopeSet requested,
        CancellationToken cancellationToken = default, IDpopProver? dpop = null) =>
        WithMetadata(provider, metadata => client.RedeemCodeAsync(provider, metadata, code, codeVerifier, requested, cancellationToken,
            DpopUse.Applies(provider, metadata) ? dpop : null), cancellationToken);


    public Task<TokenEndpointOutcome> RefreshAsync(Provider provider, string refreshToken, ScopeSet held,
        CancellationToken cancellationToken = default, IDpopProver? dpop = null, bool bound = false) =>
        // A bound refresh token is useless without its key: it always goes with a proof, whatever the mode says now.
        WithMetadata(provider, metadata => client.RefreshAsync(provider, metadata, refreshToken, held, cancellationToken,
            bound || DpopUse.Applies(provider, metadata) ? dpop : null), cancellationToken);

    public Task<TokenEndpointOutcome> ClientCredentialsAsync(Provider provider, ScopeSet scopes, string resource,
        CancellationToken cancellationToken = default, IDpopProver? dpop = null) =>
        WithMetadata(provider, metadata => client.ClientCredentialsAsync(provider, metadata, scopes, resource, cancellationToken,
            DpopUse.Applies(provider, metadata) ? dpop : null), cancellationToken);

    public async Task<bool> RevokeAsync(Provider provider, string token, string tokenTypeHint, CancellationToken cancellationToken = default)
    {
        try
        {
            var metadata = await metadataStore.GetAsync(provider, cancellationToken);
            return await client.RevokeAsync(provider, metadata, token, tokenTypeHint, cancellationToken);
        }
        catch (BrokerException)
        {
            return false; // no metadata: nothing could be sent
        }
    }

    private async Task<TokenEndpointOutcome> WithMetadata(Provider provider, Func<AuthorizationServerMetadata, Task<TokenEndpointOutcome>> send,
        CancellationToken cancellationToken)
    {
        AuthorizationServerMetadata metadata;
        try
        {
            metadata = await metadataStore.GetAsync(provider, cancellationToken);
        }
        catch (BrokerException ex)
        {
            // Without the endpoint's address nothing left the process: safe to try again.
            return new TokenEndpointOutcome.NotSent(ex.Message);
        }
        var outcome = await send(metadata);
        return await RefuseBearerWhereRequired(provider, metadata, outcome, cancellationToken);
    }

    /// <summary>
    /// Required means the broker holds no bearer token of this provider (RFC 9449 §5 leaves a bearer answer to the
    /// client's policy): what was issued is given back, best effort, and the request counts as refused.
    /// </summary>
    private async Task<TokenEndpointOutcome> RefuseBearerWhereRequired(Provider provider, AuthorizationServerMetadata metadata,
        TokenEndpointOutcome outcome, CancellationToken cancellationToken)
    {
        if (outcome is not TokenEndpointOutcome.Issued { Tokens: var tokens } || !DpopUse.IsRequired(provider) || DpopUse.IsBound(tokens.TokenType))
            return outcome;
        var (token, hint) = tokens.RefreshToken is { } refresh ? (refresh, "refresh_token") : (tokens.AccessToken, "access_token");
        await client.RevokeAsync(provider, metadata, token, hint, cancellationToken);
        return new TokenEndpointOutcome.Rejected(DpopUse.NotBoundError, 200);
    }
}
