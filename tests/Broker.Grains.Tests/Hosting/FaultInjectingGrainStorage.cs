using System.Collections.Concurrent;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Broker.Grains.Tests.Hosting;

/// <summary>
/// In-memory grain storage with the same compare-and-set as the real providers (an ETag per record), named for
/// what it is for: tests make writes fail, and write a record behind a grain's back as another activation would.
/// </summary>
public sealed class FaultInjectingGrainStorage(DeepCopier copier) : IGrainStorage
{
    private readonly ConcurrentDictionary<(string, GrainId), (object State, string ETag)> _records = new();
    private int _version;

    /// <summary>While set, every write fails as if the database were gone.</summary>
    public volatile bool FailWrites;

    public int Writes => _version;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_records.TryGetValue((stateName, grainId), out var record))
        {
            grainState.State = copier.Copy((T)record.State);
            grainState.ETag = record.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        lock (_records)
        {
            if (FailWrites) throw new IOException("storage unavailable (injected)");
            var stored = _records.TryGetValue((stateName, grainId), out var record) ? record.ETag : null;
            if (stored != grainState.ETag) throw new InconsistentStateException("the record changed since it was read", stored, grainState.ETag);
            var etag = Interlocked.Increment(ref _version).ToString();
            _records[(stateName, grainId)] = (copier.Copy(grainState.State)!, etag);
            grainState.ETag = etag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _records.TryRemove((stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    /// <summary>What is stored for a grain, as the grain would read it.</summary>
    public T? Read<T>(string stateName, GrainId grainId) where T : class =>
        _records.TryGetValue((stateName, grainId), out var record) ? (T)record.State : null;

    /// <summary>Writes a record as another activation would: the version moves on.</summary>
    public void WriteBehindTheGrain<T>(string stateName, GrainId grainId, T state) where T : class
    {
        lock (_records) _records[(stateName, grainId)] = (state, Interlocked.Increment(ref _version).ToString());
    }
}
