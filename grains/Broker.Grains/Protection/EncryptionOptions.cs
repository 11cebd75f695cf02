namespace Broker.Grains.Protection;

/// <summary>The key ring that encrypts secrets at rest: <c>Broker:Encryption</c>.</summary>
public sealed class EncryptionOptions
{
    public const string Section = "Broker:Encryption";

    /// <summary>Every key that may still decrypt something. Retire a key only after re-encryption.</summary>
    public List<EncryptionKeyOptions> Keys { get; set; } = [];

    /// <summary>The key that encrypts every new write.</summary>
    public string? PrimaryKeyId { get; set; }

    /// <summary>
    /// Reads rows written before stored state was authenticated (each is sealed at its next write, or by
    /// <c>broker-ops keys reencrypt</c>). While on, whoever can write the database can strip a row's seal: turn it
    /// on for the upgrade only, run the re-encryption, then turn it off.
    /// </summary>
    public bool AcceptUnauthenticatedState { get; set; }
}

public sealed class EncryptionKeyOptions
{
    /// <summary>A short stable name stored beside each ciphertext, e.g. "2026-11".</summary>
    public string? Id { get; set; }

    /// <summary>32 random bytes, base64. Prefer <see cref="KeyFile"/> outside development.</summary>
    public string? Key { get; set; }

    /// <summary>A file holding the base64 key.</summary>
    public string? KeyFile { get; set; }
}
