using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.OAuth.Authorization;

/// <summary>
/// Checks the ID token of a code exchange against the request that asked for it: issuer, audience and nonce
/// (OpenID Connect Core §3.1.3.7). The token came straight from the token endpoint over TLS, which the
/// specification accepts in place of a signature check (§3.1.3.7, item 6). Its <c>iss</c> + <c>sub</c> name the upstream
/// account that granted the authorization, which the family pins.
/// </summary>
public static class IdTokenCheck
{
    public static UpstreamAccount Validate(string? idToken, string issuer, string clientId, string expectedNonce)
    {
        if (idToken is null) throw Invalid("an ID token was expected (openid was requested) but none was returned.");
        JsonWebToken token;
        try
        {
            token = new JsonWebTokenHandler().ReadJsonWebToken(idToken);
        }
        catch (ArgumentException)
        {
            throw Invalid("the ID token is not a well-formed JWT.");
        }
        if (!string.Equals(token.Issuer, issuer, StringComparison.Ordinal))
            throw Invalid("the ID token names another issuer.");
        if (!token.Audiences.Contains(clientId, StringComparer.Ordinal))
            throw Invalid("the ID token is not for this client.");
        if (!token.TryGetPayloadValue<string>("nonce", out var nonce)
            || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(nonce), System.Text.Encoding.UTF8.GetBytes(expectedNonce)))
            throw Invalid("the ID token's nonce does not match the request.");
        // OpenID Connect Core §2: sub is required, locally unique within the issuer.
        if (string.IsNullOrEmpty(token.Subject)) throw Invalid("the ID token has no subject.");
        return new UpstreamAccount(token.Issuer, token.Subject);
    }

    private static BrokerException Invalid(string why) => new(BrokerErrorReason.InvalidAuthorizationResponse, why);
}
