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
        return await send(metadata);
    }
}
