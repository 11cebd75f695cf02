namespace Broker.Grains.Tests.Protection;

/// <summary>
/// A stored row as an attacker with the database sees it: a header (magic, key id, write sequence, MAC; see
/// Broker.Grains.Protection.StoredStateSeal) before the serialized state. Rows of earlier versions hold the state alone.
/// </summary>
public static class StoredRows
{
    private static readonly byte[] Magic = [0x42, 0x53, 0x41, 0x01];

    public static (byte[] Header, byte[] Payload) Split(byte[] row)
    {
        if (!row.AsSpan().StartsWith(Magic)) return ([], row);
        var headerLength = Magic.Length + 1 + row[Magic.Length] + sizeof(long) + 32;
        return (row[..headerLength], row[headerLength..]);
    }

    public static bool IsSealed(byte[] row) => row.AsSpan().StartsWith(Magic);
}
