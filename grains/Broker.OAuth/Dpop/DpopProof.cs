using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Dpop;

/// <summary>
/// DPoP proof JWTs (RFC 9449 §4.2): header typ <c>dpop+jwt</c>, alg ES256 and the public <c>jwk</c>; claims
/// <c>jti</c> (random, unique), <c>htm</c>, <c>htu</c> (without query and fragment), <c>iat</c>, and when given
/// the server's <c>nonce</c> and <c>ath</c>, the hash of the access token the proof accompanies.
/// </summary>
public static class DpopProof
{
    public const string HeaderName = "DPoP";
    public const string NonceHeaderName = "DPoP-Nonce";
    public const string TokenType = "dpop+jwt";
    public const string AuthorizationScheme = "DPoP";

    /// <summary>The most a proof may be valid for: servers accept it around iat; callers are told to use it at once.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromSeconds(60);

    public static string Create(DpopKey key, string httpMethod, Uri url, DateTimeOffset now, string? nonce = null, string? accessToken = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(httpMethod);
        if (!url.IsAbsoluteUri) throw new ArgumentException("htu must be an absolute URL.", nameof(url));

        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var header = new Utf8JsonWriter(buffer))
        {
            header.WriteStartObject();
            header.WriteString("typ", TokenType);
            header.WriteString("alg", key.Algorithm);
            header.WritePropertyName("jwk");
            key.WritePublicJwk(header);
            header.WriteEndObject();
        }
        var encodedHeader = Base64UrlEncoder.Encode(buffer.WrittenSpan.ToArray());

        buffer.ResetWrittenCount();
        using (var payload = new Utf8JsonWriter(buffer))
        {
            payload.WriteStartObject();
            payload.WriteString("jti", Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)));
            payload.WriteString("htm", httpMethod.ToUpperInvariant());
            payload.WriteString("htu", TargetUri(url));
            payload.WriteNumber("iat", now.ToUnixTimeSeconds());
            if (!string.IsNullOrEmpty(nonce)) payload.WriteString("nonce", nonce);
            if (!string.IsNullOrEmpty(accessToken)) payload.WriteString("ath", AccessTokenHash(accessToken));
            payload.WriteEndObject();
        }
        var signingInput = $"{encodedHeader}.{Base64UrlEncoder.Encode(buffer.WrittenSpan.ToArray())}";
        return $"{signingInput}.{Base64UrlEncoder.Encode(key.Sign(Encoding.ASCII.GetBytes(signingInput)))}";
    }

    /// <summary>RFC 9449 §4.2: htu is the target URI without query and fragment.</summary>
    public static string TargetUri(Uri url) => url.GetLeftPart(UriPartial.Path);

    /// <summary>RFC 9449 §4.2: ath is base64url(SHA-256(ASCII(access token))).</summary>
    public static string AccessTokenHash(string accessToken) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
}
