using Broker.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.OAuth.Authorization;

/// <summary>
/// Checks the ID token of a code exchange against the request that asked for it: issuer, audience and nonce
/// (OpenID Connect Core §3.1.3.7). The token came straight from the token endpoint over TLS, which the
/// specification accepts in place of a signature check; the broker uses it only to bind the response to its
/// request, never as proof of the user's identity.
/// </summary>
public static class IdTokenCheck
{
    public static void Validate(string? idToken, string issuer, string clientId, string expectedNonce)
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
    }

    private static BrokerException Invalid(string why) => new(BrokerErrorReason.InvalidAuthorizationResponse, why);
}
