using Broker.Abstractions.Identity;
using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;
using Duende.IdentityModel.Client;

namespace Broker.OAuth.Authorization;

/// <summary>An authorization request (RFC 6749 §4.1.1) with PKCE, state and, for OpenID Connect, a nonce.</summary>
public sealed record AuthorizationRequest(
    Provider Provider,
    ScopeSet Scopes,
    string State,
    string CodeVerifier,
    string? Nonce)
{
    public static AuthorizationRequest Create(Provider provider, ScopeSet requested, string state)
    {
        var scopes = provider.DefaultScopes.Union(requested);
        return new AuthorizationRequest(provider, scopes, state, Pkce.CreateVerifier(),
            provider.IsOpenIdConnect(scopes) ? OneTimeValue.Create() : null);
    }

    /// <param name="dpopThumbprint">RFC 9449 §10: binds the code to the family's DPoP key (dpop_jkt), when DPoP applies.</param>
    public Uri ToUrl(AuthorizationServerMetadata metadata, string? dpopThumbprint = null) => new(new RequestUrl(metadata.AuthorizationEndpoint.AbsoluteUri)
        .CreateAuthorizeUrl(
            clientId: Provider.ClientId,
            responseType: "code",
            scope: Scopes.IsEmpty ? null : Scopes.ToString(),
            redirectUri: Provider.RedirectUri.AbsoluteUri,
            state: State,
            nonce: Nonce,
            codeChallenge: Pkce.ChallengeOf(CodeVerifier),
            codeChallengeMethod: Pkce.Method,
            extra: dpopThumbprint is null ? null : new Parameters { { "dpop_jkt", dpopThumbprint } }));

    public override string ToString() => $"AuthorizationRequest {{ Provider = {Provider.Name}, Scopes = {Scopes} }}";
}
