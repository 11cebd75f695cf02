using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Broker.OAuth.Authorization;

/// <summary>Proof Key for Code Exchange (RFC 7636) with the S256 method only (RFC 9700 §2.1.1).</summary>
public static class Pkce
{
    public const string Method = "S256";

    /// <summary>A fresh code verifier: 32 random bytes, base64url, 43 characters (RFC 7636 §4.1).</summary>
    public static string CreateVerifier() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2).</summary>
    public static string ChallengeOf(string verifier) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
}

/// <summary>Unguessable one-time values for state and nonce.</summary>
public static class OneTimeValue
{
    public static string Create() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>Has the shape of a value <see cref="Create"/> makes (43 base64url characters).</summary>
    public static bool IsWellFormed(string value) =>
        value.Length == 43 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The key under which a pending authorization is stored: the state itself never reaches storage.</summary>
    public static string KeyOf(string state) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(state)));
}
