using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Grains.Protection;

/// <summary>
/// Keyed hashes (HMAC-SHA-256) of refresh tokens, for reuse detection without keeping the tokens. The key is
/// derived from a ring key with HKDF and the fingerprint names that key, so old fingerprints keep matching while
/// their key stays in the ring; once it is removed they no longer match (a one-way hash cannot be re-keyed).
/// </summary>
public sealed class TokenFingerprint(KeyRing keys)
{
    private static readonly byte[] Purpose = Encoding.ASCII.GetBytes("broker/refresh-token-fingerprint/v1");

    public string Of(string token) => Of(token, keys.PrimaryKeyId)!;

    /// <summary>True when <paramref name="token"/> has the given fingerprint. Constant time in the token.</summary>
    public bool Matches(string token, string fingerprint)
    {
        var separator = fingerprint.IndexOf(':');
        if (separator <= 0) return false;
        var expected = Of(token, fingerprint[..separator]);
        return expected is not null && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(fingerprint));
    }

    private string? Of(string token, string keyId)
    {
        if (!keys.TryGet(keyId, out var key)) return null;
        var macKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, salt: [], info: Purpose);
        var mac = HMACSHA256.HashData(macKey, Encoding.UTF8.GetBytes(token));
        return $"{keyId}:{Base64Url.EncodeToString(mac)}";
    }
}
