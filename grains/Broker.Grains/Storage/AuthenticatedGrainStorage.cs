using Broker.Abstractions;
using Broker.Grains.Protection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace Broker.Grains.Storage;

/// <summary>
/// The broker's grain storage: every row is sealed by <see cref="StoredStateSeal"/> (the whole state, bound to its
/// grain and a write sequence) over a storage provider that keeps raw bytes. A row that does not verify, or is
/// older than one this silo saw, is refused in the <see cref="StoredStateLedger"/> and the grain gets an empty state,
/// or, for an <see cref="IKeptWhenRefused"/> state (a family, which marks it), what the row says, unverified.
/// </summary>
public sealed partial class AuthenticatedGrainStorage(
    IGrainStorage rows, IGrainStorageSerializer states, StoredStateSeal seal, StoredStateLedger ledger, bool acceptUnauthenticated, ILogger logger)
    : IGrainStorage
{
    /// <summary>Wraps the storage provider named <paramref name="rowsProvider"/>, which must use <see cref="StoredRowSerializer"/>.</summary>
    public static AuthenticatedGrainStorage Over(IServiceProvider services, string rowsProvider) => new(
        services.GetRequiredKeyedService<IGrainStorage>(rowsProvider),
        new OrleansGrainStorageSerializer(services.GetRequiredService<Orleans.Serialization.Serializer>()),
        services.GetRequiredService<StoredStateSeal>(),
        services.GetRequiredService<StoredStateLedger>(),
        services.GetService<IOptions<EncryptionOptions>>()?.Value.AcceptUnauthenticatedState ?? false,
        services.GetRequiredService<ILogger<AuthenticatedGrainStorage>>());

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var row = new GrainState<StoredRow>(new StoredRow()) { ETag = grainState.ETag };
        await Reach(() => rows.ReadStateAsync(stateName, grainId, row));
        grainState.State = row.State?.Bytes is { } bytes ? Open<T>(stateName, grainId, bytes) : Activator.CreateInstance<T>();
        grainState.ETag = row.ETag;
        grainState.RecordExists = row.RecordExists;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var sequence = ledger.NextSequence(grainId);
        var payload = states.Serialize(grainState.State);
        var row = new GrainState<StoredRow>(new StoredRow { Bytes = seal.Seal(stateName, grainId.ToString(), sequence, payload.ToMemory().Span) })
        {
            ETag = grainState.ETag,
            RecordExists = grainState.RecordExists,
        };
        await Reach(() => rows.WriteStateAsync(stateName, grainId, row));
        grainState.ETag = row.ETag;
        grainState.RecordExists = row.RecordExists;
        ledger.Observed(grainId, sequence, seal.PrimaryKeyId); // only once stored: a failed write must not raise the bar
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var row = new GrainState<StoredRow>(new StoredRow()) { ETag = grainState.ETag, RecordExists = grainState.RecordExists };
        await Reach(() => rows.ClearStateAsync(stateName, grainId, row));
        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = row.ETag;
        grainState.RecordExists = row.RecordExists;
        ledger.Forget(grainId);
    }

    /// <summary>A database failure becomes an exception every silo can deserialize (the driver's cannot cross silos).</summary>
    private static async Task Reach(Func<Task> operation)
    {
        try
        {
            await operation();
        }
        catch (System.Data.Common.DbException ex)
        {
            throw new StorageUnreachableException($"the state store failed: {ex.GetType().Name}");
        }
    }

    private T Open<T>(string stateName, GrainId grainId, byte[] bytes)
    {
        if (!StoredStateSeal.TryOpenEnvelope(bytes, out var sealedRow))
        {
            // A row of an earlier version, or one made to look like it: an attacker can strip the seal.
            if (!acceptUnauthenticated)
            {
                return Refuse<T>(grainId, stateName, StoredStateLedger.Unauthenticated, bytes,
                    "the stored state is not authenticated (written by an earlier version); set Broker:Encryption:AcceptUnauthenticatedState during the upgrade, then run broker-ops keys reencrypt.");
            }
            if (ledger.IsRollback(grainId, 0))
                return Refuse<T>(grainId, stateName, StoredStateLedger.RolledBack, bytes, "the stored state lost its seal after this silo saw it sealed.");
            ledger.Observed(grainId, 0, keyId: null);
            return states.Deserialize<T>(new BinaryData(bytes)) ?? Activator.CreateInstance<T>();
        }
        switch (seal.Verifies(sealedRow, stateName, grainId.ToString()))
        {
            case null:
                // Not evidence of tampering: during a rolling key change a silo may not have the new key yet.
                return Refuse<T>(grainId, stateName, SecretProtector.KeyNotInRing, sealedRow.Payload,
                    $"the stored state is sealed with key '{sealedRow.KeyId}', which is not in the key ring.");
            case false:
                return Refuse<T>(grainId, stateName, StoredStateLedger.Altered, sealedRow.Payload,
                    "the stored state failed authentication: it was altered or belongs to another record.");
        }
        if (ledger.IsRollback(grainId, sealedRow.Sequence))
            return Refuse<T>(grainId, stateName, StoredStateLedger.RolledBack, sealedRow.Payload, "the stored state is older than one this silo has read or written: a row was put back.");
        // The ring's own string when it is the primary key: one per silo, not one per row in the ledger.
        ledger.Observed(grainId, sealedRow.Sequence, sealedRow.KeyId == seal.PrimaryKeyId ? seal.PrimaryKeyId : sealedRow.KeyId);
        return states.Deserialize<T>(new BinaryData(sealedRow.Payload)) ?? Activator.CreateInstance<T>();
    }

    private T Refuse<T>(GrainId grainId, string stateName, string detail, ReadOnlyMemory<byte> payload, string message)
    {
        LogRefused(logger, stateName, detail);
        ledger.Refuse(grainId, new BrokerException(BrokerErrorReason.StateUnreadable, message) { Detail = detail });
        // Safe by default: a state that does not ask for the unverified content (to keep it under a mark) gets none.
        if (!typeof(IKeptWhenRefused).IsAssignableFrom(typeof(T))) return Activator.CreateInstance<T>();
        try
        {
            return states.Deserialize<T>(new BinaryData(payload)) ?? Activator.CreateInstance<T>();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Activator.CreateInstance<T>();
        }
    }

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Stored {State} row refused ({Why}): not acted on.")]
    private static partial void LogRefused(ILogger logger, string state, string why);
}

/// <summary>
/// A stored state whose grain, handed a refused row, wants what it says (unverified) to keep it for investigation; it must
/// then act on <see cref="StoredStateLedger.TakeRefusal"/> before anything else. Other states get an empty state.
/// </summary>
public interface IKeptWhenRefused;

/// <summary>A row as the database holds it: the storage provider under <see cref="AuthenticatedGrainStorage"/> keeps these bytes as they are.</summary>
[GenerateSerializer]
public sealed class StoredRow
{
    [Id(0)] public byte[]? Bytes { get; set; }
}

/// <summary>The serializer of the provider under <see cref="AuthenticatedGrainStorage"/>: <see cref="StoredRow"/> bytes in and out, unchanged.</summary>
public sealed class StoredRowSerializer : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input) => input is StoredRow { Bytes: { } bytes }
        ? new BinaryData(bytes)
        : throw new InvalidOperationException($"only {nameof(StoredRow)} is stored by this provider.");

    public T Deserialize<T>(BinaryData input) => typeof(T) == typeof(StoredRow)
        ? (T)(object)new StoredRow { Bytes = input.ToArray() }
        : throw new InvalidOperationException($"only {nameof(StoredRow)} is stored by this provider.");
}
