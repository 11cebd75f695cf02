using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Tokens;

/// <summary>
/// A client assertion for <c>private_key_jwt</c> (RFC 7523 §2.2 and §3): iss and sub are the client id, aud
/// the authorization server (its issuer identifier by default), a one-minute lifetime and a fresh random <c>jti</c> each time, so a captured
/// assertion is useless to replay.
/// </summary>
public static class JwtClientAssertion
{
    public const string Type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static string Create(string clientId, string audience, SigningCredentials credentials, DateTimeOffset now) =>
        Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = audience,
            Subject = new ClaimsIdentity(
            [
                new Claim(JwtRegisteredClaimNames.Sub, clientId),
                new Claim(JwtRegisteredClaimNames.Jti, Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16))),
            ]),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + Lifetime).UtcDateTime,
            SigningCredentials = credentials,
            // Explicit typing (RFC 8725 §3.11, draft-ietf-oauth-rfc7523bis): it cannot pass for another kind of
            // JWT signed with the same key. Servers reading only RFC 7523 ignore typ; newer ones require it.
            TokenType = ExplicitType,
        });

    public const string ExplicitType = "client-authentication+jwt";
}
