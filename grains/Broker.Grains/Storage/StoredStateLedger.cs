using System.Collections.Concurrent;
using Broker.Abstractions;

namespace Broker.Grains.Storage;

/// <summary>
/// What this silo knows of each grain's stored row, kept for the life of the process: the highest write sequence
/// it has read or written (a lower one later is a row put back: rollback), the key the current row is sealed
/// under, and a refusal by <see cref="AuthenticatedGrainStorage"/> for the grain to act on. A silo that never saw a
/// grain cannot tell an older row from the current one; that is the limit of rollback detection.
/// </summary>
public sealed class StoredStateLedger
{
    /// <summary>The <see cref="BrokerException.Detail"/> of a row put back: its sequence is below one this silo saw.</summary>
    public const string RolledBack = "rolled_back";

    /// <summary>The <see cref="BrokerException.Detail"/> of a row whose MAC does not hold: edited, or moved from another grain.</summary>
    public const string Altered = "altered";

    /// <summary>
    /// The <see cref="BrokerException.Detail"/> of a row written before stored state was authenticated, while
    /// <c>Broker:Encryption:AcceptUnauthenticatedState</c> is off. Not evidence of tampering: the family is not marked.
    /// </summary>
    public const string Unauthenticated = "unauthenticated_state";

    private readonly ConcurrentDictionary<GrainId, Entry> _entries = new();
    private readonly ConcurrentDictionary<GrainId, BrokerException> _refusals = new();

    /// <summary>The sequence of this silo's next write of the grain's row.</summary>
    public long NextSequence(GrainId grain) => _entries.TryGetValue(grain, out var entry) ? entry.Sequence + 1 : 1;

    /// <summary>True when the row read is older than one this silo has seen.</summary>
    public bool IsRollback(GrainId grain, long sequence) => _entries.TryGetValue(grain, out var entry) && sequence < entry.Sequence;

    /// <summary>A row read or written: its sequence (0 for a row of an earlier version) and the key it is sealed under (null: none).</summary>
    public void Observed(GrainId grain, long sequence, string? keyId) =>
        _entries.AddOrUpdate(grain, new Entry(sequence, keyId),
            (_, known) => sequence >= known.Sequence ? new Entry(sequence, keyId) : known);

    /// <summary>The row is gone (a finished authorization): forget it, so the ledger does not grow with them.</summary>
    public void Forget(GrainId grain) => _entries.TryRemove(grain, out _);

    /// <summary>True when the grain's row, as last read or written here, is not sealed under <paramref name="primaryKeyId"/>.</summary>
    public bool NeedsResealing(GrainId grain, string primaryKeyId) =>
        _entries.TryGetValue(grain, out var entry) && !string.Equals(entry.KeyId, primaryKeyId, StringComparison.Ordinal);

    public void Refuse(GrainId grain, BrokerException why) => _refusals[grain] = why;

    /// <summary>The refusal of the grain's last read, once: the grain marks or resets what it was handed.</summary>
    public BrokerException? TakeRefusal(GrainId grain) => _refusals.TryRemove(grain, out var why) ? why : null;

    private sealed record Entry(long Sequence, string? KeyId);
}
