using Broker.Abstractions.Identity;
using Broker.OAuth.Dpop;
using Broker.OAuth.Providers;

namespace Broker.OAuth.Tokens;

/// <summary>
/// A provider's token and revocation endpoints (RFC 6749 §3.2, RFC 7009), found through its metadata. The seam
/// between the grains and the network: grain tests replace it to script answers under a fake clock.
/// </summary>
/// <remarks>
/// <c>dpop</c> is the key of the family or client token asking. It is used when the provider's <see cref="DpopMode"/>
/// says so (<see cref="DpopUse"/>), and for a refresh always when the refresh token is bound to it.
/// </remarks>
public interface ITokenEndpoint
{
    Task<TokenEndpointOutcome> RedeemCodeAsync(Provider provider, string code, string codeVerifier, ScopeSet requested, CancellationToken cancellationToken = default, IDpopProver? dpop = null);

    /// <summary>Sends the refresh token once; never retried.</summary>
    Task<TokenEndpointOutcome> RefreshAsync(Provider provider, string refreshToken, ScopeSet held, CancellationToken cancellationToken = default, IDpopProver? dpop = null, bool bound = false);

    Task<TokenEndpointOutcome> ClientCredentialsAsync(Provider provider, ScopeSet scopes, string resource, CancellationToken cancellationToken = default, IDpopProver? dpop = null);

    /// <summary>True when the server confirmed the revocation.</summary>
    Task<bool> RevokeAsync(Provider provider, string token, string tokenTypeHint, CancellationToken cancellationToken = default);
}
