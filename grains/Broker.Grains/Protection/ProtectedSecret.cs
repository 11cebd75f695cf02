namespace Broker.Grains.Protection;

/// <summary>
/// One secret encrypted with AES-256-GCM: the id of the key, a 96-bit nonce, the ciphertext and the 128-bit
/// tag. What it may be opened for (grain type, key and field) is the associated data and is not stored:
/// a ciphertext copied to another row or field does not decrypt.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ProtectedSecret(
    [property: Id(0)] string KeyId,
    [property: Id(1)] byte[] Nonce,
    [property: Id(2)] byte[] Ciphertext,
    [property: Id(3)] byte[] Tag)
{
    public override string ToString() => $"ProtectedSecret {{ KeyId = {KeyId} }}";
}
