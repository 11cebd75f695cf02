using System.Security.Cryptography;
using System.Text;
using Broker.Abstractions;

namespace Broker.Grains.Protection;

/// <summary>
/// Encrypts secrets for storage with AES-256-GCM under the primary key of the ring, bound to a context
/// (the grain's type, key and the field) through the associated data.
/// </summary>
/// <remarks>
/// Nonces are 96 random bits per encryption. With random nonces one key stays within NIST SP 800-38D's
/// bound for up to 2^32 encryptions; rotate the primary key long before that (each refresh is one or two).
/// </remarks>
public sealed class SecretProtector(KeyRing keys)
{
    /// <summary>The <see cref="BrokerException.Detail"/> of a secret under a key this silo does not hold.</summary>
    public const string KeyNotInRing = "key_not_in_ring";

    private const int NonceSize = 12;
    private const int TagSize = 16;

    public ProtectedSecret Protect(string plaintext, string context)
    {
        var clear = Encoding.UTF8.GetBytes(plaintext);
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var ciphertext = new byte[clear.Length];
        var tag = new byte[TagSize];
        using var aes = new AesGcm(keys.Primary, TagSize);
        aes.Encrypt(nonce, clear, ciphertext, tag, Encoding.UTF8.GetBytes(context));
        CryptographicOperations.ZeroMemory(clear);
        return new ProtectedSecret(keys.PrimaryKeyId, nonce, ciphertext, tag);
    }

    /// <summary>Decrypts, or throws <see cref="BrokerErrorReason.StateUnreadable"/> when the key is gone or the data or context do not match.</summary>
    public string Unprotect(ProtectedSecret secret, string context)
    {
        if (!keys.TryGet(secret.KeyId, out var key))
        {
            // Not evidence of tampering: during a rolling key change a silo may not have the new key yet.
            throw new BrokerException(BrokerErrorReason.StateUnreadable,
                $"stored secret was encrypted with key '{secret.KeyId}', which is not in the key ring.") { Detail = KeyNotInRing };
        }
        try
        {
            var clear = new byte[secret.Ciphertext.Length];
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(secret.Nonce, secret.Ciphertext, secret.Tag, clear, Encoding.UTF8.GetBytes(context));
            return Encoding.UTF8.GetString(clear);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new BrokerException(BrokerErrorReason.StateUnreadable,
                "stored secret failed authentication: it was altered or belongs to another record.");
        }
    }

    /// <summary>True when the secret is under a key other than the primary one and should be re-encrypted.</summary>
    public string PrimaryKeyId => keys.PrimaryKeyId;

    public bool NeedsReencryption(ProtectedSecret secret) => !string.Equals(secret.KeyId, keys.PrimaryKeyId, StringComparison.Ordinal);
}
