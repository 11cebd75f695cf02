using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Grains.Protection;

/// <summary>
/// Authenticates a whole stored row: an HMAC-SHA-256 over the serialized state, the grain it belongs to (state
/// name and grain id, not stored) and a write sequence, so no field can be edited, no row moved to another grain,
/// and an older row is recognisable by its lower sequence. The MAC key is derived from a ring key with HKDF under
/// its own purpose label; the row names that key, so rows keep verifying during a rotation and
/// <c>broker-ops keys reencrypt</c> moves them to the primary key.
/// </summary>
/// <remarks>
/// Row layout: "BSA" 0x01, the key id's length (one byte) and its UTF-8 bytes, the sequence (8 bytes, big-endian),
/// the 32-byte MAC, then the state as the storage serializer wrote it. Rows of earlier versions hold the state alone.
/// </remarks>
public sealed class StoredStateSeal(KeyRing keys)
{
    public const int MacSize = 32;
    private static readonly byte[] Magic = [0x42, 0x53, 0x41, 0x01];
    private static readonly byte[] Purpose = Encoding.ASCII.GetBytes("broker/stored-state/v1");
    private readonly Dictionary<string, byte[]> _macKeys = new(StringComparer.Ordinal);

    public string PrimaryKeyId => keys.PrimaryKeyId;

    public byte[] Seal(string stateName, string grainId, long sequence, ReadOnlySpan<byte> payload)
    {
        var keyId = Encoding.UTF8.GetBytes(keys.PrimaryKeyId);
        if (keyId.Length > byte.MaxValue) throw new InvalidOperationException("encryption key ids are at most 255 bytes.");
        var row = new byte[Magic.Length + 1 + keyId.Length + sizeof(long) + MacSize + payload.Length];
        var at = 0;
        Magic.CopyTo(row, at);
        at += Magic.Length;
        row[at++] = (byte)keyId.Length;
        keyId.CopyTo(row, at);
        at += keyId.Length;
        BinaryPrimitives.WriteInt64BigEndian(row.AsSpan(at), sequence);
        at += sizeof(long);
        var mac = row.AsSpan(at, MacSize);
        payload.CopyTo(row.AsSpan(at + MacSize));
        Mac(MacKey(keys.PrimaryKeyId)!, stateName, grainId, keys.PrimaryKeyId, sequence, payload, mac);
        return row;
    }

    /// <summary>Reads a row's header. False for a row of an earlier version (the state alone).</summary>
    public static bool TryOpenEnvelope(byte[] row, out SealedRow sealedRow)
    {
        sealedRow = default;
        if (!row.AsSpan().StartsWith(Magic) || row.Length < Magic.Length + 1) return false;
        var keyIdLength = row[Magic.Length];
        var payloadAt = Magic.Length + 1 + keyIdLength + sizeof(long) + MacSize;
        if (row.Length < payloadAt) return false;
        var keyId = Encoding.UTF8.GetString(row, Magic.Length + 1, keyIdLength);
        var sequence = BinaryPrimitives.ReadInt64BigEndian(row.AsSpan(Magic.Length + 1 + keyIdLength));
        sealedRow = new SealedRow(keyId, sequence, new ArraySegment<byte>(row, payloadAt - MacSize, MacSize), new ArraySegment<byte>(row, payloadAt, row.Length - payloadAt));
        return true;
    }

    /// <summary>Whether the row's MAC holds for this grain, in constant time. Null when its key is not in the ring.</summary>
    public bool? Verifies(SealedRow row, string stateName, string grainId)
    {
        if (MacKey(row.KeyId) is not { } key) return null;
        Span<byte> expected = stackalloc byte[MacSize];
        Mac(key, stateName, grainId, row.KeyId, row.Sequence, row.Payload, expected);
        return CryptographicOperations.FixedTimeEquals(expected, row.Mac);
    }

    private byte[]? MacKey(string keyId)
    {
        lock (_macKeys)
        {
            if (_macKeys.TryGetValue(keyId, out var derived)) return derived;
            if (!keys.TryGet(keyId, out var key)) return null;
            return _macKeys[keyId] = HKDF.DeriveKey(HashAlgorithmName.SHA256, key, MacSize, salt: [], info: Purpose);
        }
    }

    private static void Mac(byte[] key, string stateName, string grainId, string keyId, long sequence, ReadOnlySpan<byte> payload, Span<byte> mac)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        Span<byte> number = stackalloc byte[sizeof(long)];
        foreach (var part in new[] { stateName, grainId, keyId })
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            BinaryPrimitives.WriteInt32BigEndian(number, bytes.Length); // length-prefixed: no two triples read alike
            hmac.AppendData(number[..sizeof(int)]);
            hmac.AppendData(bytes);
        }
        BinaryPrimitives.WriteInt64BigEndian(number, sequence);
        hmac.AppendData(number);
        hmac.AppendData(payload);
        hmac.GetHashAndReset(mac);
    }
}

/// <summary>The header of an authenticated row and the state it covers.</summary>
public readonly record struct SealedRow(string KeyId, long Sequence, ArraySegment<byte> Mac, ArraySegment<byte> Payload);
