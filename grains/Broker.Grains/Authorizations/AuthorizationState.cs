using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Broker.Grains.Protection;

namespace Broker.Grains.Authorizations;

/// <summary>
/// The <c>state</c> of an authorization request (RFC 6749 §10.12), self-authenticating: 32 random bytes and an
/// HMAC-SHA-256 over them, base64url. The callback checks the MAC, in constant time, before it looks up any grain
/// or row, so a forged or mangled state costs one HMAC. The MAC key is derived from each ring key with HKDF under
/// its own purpose label; a state is checked against every key of the ring, so one issued just before a key
/// rotation still completes. The state names no key: it is an opaque value in the user's browser.
/// </summary>
public sealed class AuthorizationState
{
    private const int RandomSize = 32;
    private const int MacSize = 32;
    private static readonly byte[] Purpose = Encoding.ASCII.GetBytes("broker/authorization-state/v1");

    private readonly byte[] _primary;
    private readonly byte[][] _all;

    public AuthorizationState(KeyRing keys)
    {
        _primary = Derive(keys.Primary);
        _all = [.. keys.KeyIds.Select(id => keys.TryGet(id, out var key) ? Derive(key) : throw new InvalidOperationException("key ring changed"))];
    }

    /// <summary>The length of every state this broker issues.</summary>
    public static int Length { get; } = Base64Url.GetEncodedLength(RandomSize + MacSize);

    public string Create()
    {
        Span<byte> state = stackalloc byte[RandomSize + MacSize];
        RandomNumberGenerator.Fill(state[..RandomSize]);
        HMACSHA256.HashData(_primary, state[..RandomSize], state[RandomSize..]);
        return Base64Url.EncodeToString(state);
    }

    /// <summary>True when this broker issued <paramref name="state"/> under a key still in the ring.</summary>
    public bool IsAuthentic(string state)
    {
        if (state.Length != Length) return false;
        if (!Base64Url.IsValid(state, out var size) || size != RandomSize + MacSize) return false;
        Span<byte> decoded = stackalloc byte[RandomSize + MacSize];
        try
        {
            if (!Base64Url.TryDecodeFromChars(state, decoded, out var written) || written != decoded.Length) return false;
        }
        catch (FormatException)
        {
            return false; // Base64Url's Try methods throw on bad input; they only report a short destination
        }
        // One encoding only: the grain is keyed by the state's text, and base64url's last character has spare bits.
        Span<char> canonical = stackalloc char[Length];
        if (!Base64Url.TryEncodeToChars(decoded, canonical, out _) || !canonical.SequenceEqual(state)) return false;

        Span<byte> expected = stackalloc byte[MacSize];
        var authentic = false;
        foreach (var key in _all)
        {
            HMACSHA256.HashData(key, decoded[..RandomSize], expected);
            // Every key is tried, whichever matches: the time taken does not tell which key, or how much matched.
            authentic |= CryptographicOperations.FixedTimeEquals(expected, decoded[RandomSize..]);
        }
        return authentic;
    }

    private static byte[] Derive(byte[] ringKey) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ringKey, MacSize, salt: [], info: Purpose);
}
