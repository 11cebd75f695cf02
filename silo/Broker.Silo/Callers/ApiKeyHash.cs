using System.Security.Cryptography;
using System.Text;

namespace Broker.Silo.Callers;

/// <summary>
/// API keys are 256-bit random values, so one SHA-256 is enough to store them (no slow hash needed: there is
/// nothing to guess), and the configuration never holds a key that works.
/// </summary>
public static class ApiKeyHash
{
    private const string Prefix = "sha256:";

    public static byte[] Of(string apiKey) => Of(apiKey.AsSpan());

    public static byte[] Of(ReadOnlySpan<char> apiKey)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(apiKey)];
        Encoding.UTF8.GetBytes(apiKey, bytes);
        return SHA256.HashData(bytes);
    }

    public static string Format(string apiKey) => Prefix + Convert.ToHexStringLower(Of(apiKey));

    public static bool TryParse(string value, out byte[] hash)
    {
        hash = [];
        if (!value.StartsWith(Prefix, StringComparison.Ordinal) || value.Length != Prefix.Length + 64) return false;
        var hex = value.AsSpan(Prefix.Length);
        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigit(c)) return false;
        }
        hash = Convert.FromHexString(hex);
        return true;
    }

    /// <summary>A new key for a caller: "bk_" and 43 base64url characters.</summary>
    public static string NewKey() => "bk_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
}
