using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Providers;

/// <summary>
/// The private key a client signs its assertions with (RFC 7523), read from a PEM file (RSA or EC) or a JWK
/// file, and the algorithm that goes with it: RS256 for RSA, ES256/384/512 by curve.
/// </summary>
public static class ClientSigningKey
{
    public static SigningCredentials Load(string path, string? keyId)
    {
        var text = File.ReadAllText(path).Trim();
        if (text.StartsWith('{'))
        {
            var jwk = new JsonWebKey(text);
            if (!jwk.HasPrivateKey) throw new InvalidOperationException("the JWK has no private part.");
            jwk.KeyId = keyId ?? (string.IsNullOrEmpty(jwk.KeyId) ? Thumbprint(jwk) : jwk.KeyId);
            return new SigningCredentials(jwk, jwk.Alg ?? AlgorithmFor(jwk.Kty, jwk.Crv));
        }
        var ec = TryEc(text);
        if (ec is null && text.Contains("EC PRIVATE KEY", StringComparison.Ordinal))
            throw new InvalidOperationException("the PEM is not a readable EC private key.");
        if (ec is not null)
        {
            var key = new ECDsaSecurityKey(ec);
            key.KeyId = keyId ?? Thumbprint(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(key));
            return new SigningCredentials(key, AlgorithmFor("EC", CurveName(ec)));
        }
        var rsa = RSA.Create();
        rsa.ImportFromPem(text);
        var rsaKey = new RsaSecurityKey(rsa);
        rsaKey.KeyId = keyId ?? Thumbprint(JsonWebKeyConverter.ConvertFromRSASecurityKey(rsaKey));
        return new SigningCredentials(rsaKey, SecurityAlgorithms.RsaSha256);
    }

    /// <summary>Why the file cannot sign, for the start-up validation; null when it can. Never includes key material.</summary>
    public static string? Problem(string path)
    {
        try
        {
            // Sign once: a public-only JWK or a key the algorithm refuses (e.g. RSA under 2048 bits) fails here, at start.
            Tokens.JwtClientAssertion.Create("start-check", "https://start-check.invalid/", Load(path, null), DateTimeOffset.UtcNow);
            return null;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or InvalidOperationException or FormatException
                                       or System.Text.Json.JsonException or NotSupportedException or SecurityTokenException)
        {
            return "is not a PEM private key (RSA of at least 2048 bits, or EC) nor a JWK with its private part that can sign.";
        }
    }

    private static ECDsa? TryEc(string pem)
    {
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return ec;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            ec.Dispose();
            return null;
        }
    }

    private static string CurveName(ECDsa ec) => ec.KeySize switch
    {
        256 => JsonWebKeyECTypes.P256,
        384 => JsonWebKeyECTypes.P384,
        _ => JsonWebKeyECTypes.P521,
    };

    private static string AlgorithmFor(string keyType, string? curve) => keyType switch
    {
        "RSA" => SecurityAlgorithms.RsaSha256,
        "EC" when curve == JsonWebKeyECTypes.P256 => SecurityAlgorithms.EcdsaSha256,
        "EC" when curve == JsonWebKeyECTypes.P384 => SecurityAlgorithms.EcdsaSha384,
        "EC" => SecurityAlgorithms.EcdsaSha512,
        _ => throw new InvalidOperationException($"key type '{keyType}' cannot sign client assertions."),
    };

    private static string Thumbprint(JsonWebKey key) => Base64UrlEncoder.Encode(key.ComputeJwkThumbprint());
}
