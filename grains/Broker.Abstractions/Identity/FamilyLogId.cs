using System.Security.Cryptography;
using System.Text;

namespace Broker.Abstractions.Identity;

/// <summary>
/// A short stable id of a family for logs, traces and audit events, because subjects may be personal data. An unkeyed
/// hash of <c>provider/subject</c> is reversed by hashing a dictionary of likely subjects, so this is HMAC-SHA-256 under
/// a key derived (HKDF, its own purpose label) from the primary encryption key: the same on every silo and in
/// <c>broker-ops families log-id</c> when they share the key ring, so operators can correlate; it changes when the
/// primary key changes.
/// </summary>
public sealed class FamilyLogId(byte[] primaryKey)
{
    private static readonly byte[] Purpose = Encoding.ASCII.GetBytes("broker/family-log-id/v1");

    /// <summary>Ids kept at most; past it the memo starts over (families in use come back at once).</summary>
    public const int MemoCapacity = 100_000;

    private readonly byte[] _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, primaryKey, 32, salt: [], info: Purpose);

    // Every audited call asks, mostly for the same few families: an HMAC per call was 3 % of a cache hit's CPU.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<FamilyKey, string> _memo = new();

    /// <summary>16 hex digits (64 bits): enough to tell families apart in logs.</summary>
    public string Of(FamilyKey key)
    {
        if (_memo.TryGetValue(key, out var known)) return known;
        var id = Compute(key);
        if (_memo.Count >= MemoCapacity) _memo.Clear();
        _memo[key] = id;
        return id;
    }

    private string Compute(FamilyKey key)
    {
        var grainKey = key.ToGrainKey();
        var maximum = Encoding.UTF8.GetMaxByteCount(grainKey.Length);
        var utf8 = maximum <= 1024 ? stackalloc byte[maximum] : new byte[maximum];
        var length = Encoding.UTF8.GetBytes(grainKey, utf8);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, utf8[..length], mac);
        return Convert.ToHexStringLower(mac[..8]);
    }
}
