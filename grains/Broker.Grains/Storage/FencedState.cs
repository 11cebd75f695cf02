using Broker.Abstractions;
using Broker.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Broker.Grains.Storage;

/// <summary>What a <see cref="FencedState{TState}"/> needs from the grain that owns it.</summary>
public interface IFencedStateOwner
{
    /// <summary>Keep the activation alive: it holds state that is not stored yet.</summary>
    void KeepActiveFor(TimeSpan time);

    /// <summary>Run <paramref name="tick"/> every <paramref name="period"/> on the grain's scheduler.</summary>
    IDisposable StartTimer(Func<Task> tick, TimeSpan period);
}

/// <summary>How often and how patiently a <see cref="FencedState{TState}"/> retries a write that must become durable.</summary>
public sealed record DurableWriteRetry(TimeSpan Delay, int AttemptsPerCall);

/// <summary>
/// A grain's stored state behind the storage's compare-and-set (the row version, or the ETag of memory
/// storage): conditional writes, the re-read after a lost write, and the retry of writes that must become
/// durable. One change at a time: hold <see cref="LockAsync"/> around read-decide-write.
/// </summary>
public sealed partial class FencedState<TState> where TState : class
{
    private readonly IPersistentState<TState> _stored;
    private readonly Func<TState, TState> _upgrade;
    private readonly Func<TState, TState, TState> _mergeAfterLostWrite;
    private readonly Func<BrokerException?> _takeRefusal;
    private readonly IFencedStateOwner _owner;
    private readonly TimeProvider _time;
    private readonly DurableWriteRetry _retry;
    private readonly BrokerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly string _logId;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IDisposable? _retryTimer;

    /// <param name="upgrade">Brings a row of an earlier version into today's shape after every read.</param>
    /// <param name="mergeAfterLostWrite">(stored, mine) → what to write when another activation wrote first.</param>
    /// <param name="takeRefusal">Why the row just read must not be acted on, if it must not (<see cref="StoredStateLedger.TakeRefusal"/>).</param>
    public FencedState(IPersistentState<TState> stored, Func<TState, TState> upgrade, Func<TState, TState, TState> mergeAfterLostWrite,
        Func<BrokerException?> takeRefusal, IFencedStateOwner owner, TimeProvider time, DurableWriteRetry retry, BrokerMetrics metrics, ILogger logger, string logId)
    {
        _takeRefusal = takeRefusal;
        Refusal = takeRefusal();
        _stored = stored;
        _upgrade = upgrade;
        _mergeAfterLostWrite = mergeAfterLostWrite;
        _owner = owner;
        _time = time;
        _retry = retry;
        _metrics = metrics;
        _logger = logger;
        _logId = logId;
        _stored.State = upgrade(_stored.State);
    }

    public TState State => _stored.State;

    /// <summary>Set when the row last read failed authentication or was rolled back: <see cref="State"/> is then what it says, unverified.</summary>
    public BrokerException? Refusal { get; private set; }

    /// <summary>The owner has dealt with the refusal (marked the state and stored the mark).</summary>
    public void Accept() => Refusal = null;

    /// <summary>Throws the refusal of the row last read, if any.</summary>
    public void ThrowIfRefused()
    {
        if (Refusal is { } refused) throw refused;
    }

    /// <summary>The state holds a decision that must be stored before anyone acts on it (rotated tokens).</summary>
    public bool HasPendingWrite { get; private set; }

    public async Task<IDisposable> LockAsync()
    {
        await _gate.WaitAsync();
        return new Release(_gate);
    }

    public async Task RereadAsync()
    {
        await _stored.ReadStateAsync();
        Refusal = _takeRefusal() ?? Refusal;
        _stored.State = _upgrade(_stored.State);
    }

    /// <summary>
    /// Writes <paramref name="decided"/>. When another activation wrote first: with <see cref="WriteMode.Fenced"/>
    /// this activation's decision is merged onto what is stored; with <see cref="WriteMode.OnStored"/> the
    /// decision is made again, by <paramref name="redecide"/>, on what is stored.
    /// </summary>
    public async Task WriteAsync(TState decided, WriteMode mode, Func<TState, TState>? redecide = null)
    {
        if (mode == WriteMode.Durable)
        {
            await WriteDurablyAsync(decided);
            return;
        }
        _stored.State = decided;
        var overwriting = false;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await _stored.WriteStateAsync();
                if (overwriting) Refusal = null;
                return;
            }
            catch (InconsistentStateException) when (attempt < 3)
            {
                LogLostWrite(_logger, _logId);
                var mine = _stored.State;
                var trusted = Refusal is null;
                await RereadAsync();
                if (trusted && Refusal is not null)
                {
                    // What is stored is not what this broker wrote (or the database lost a write it acknowledged):
                    // nothing to merge with. This activation's state comes from verified reads and its own decisions.
                    _stored.State = mine;
                    overwriting = true;
                    continue;
                }
                _stored.State = mode == WriteMode.OnStored && redecide is not null
                    ? redecide(_stored.State)
                    : _mergeAfterLostWrite(_stored.State, mine);
            }
        }
    }

    /// <summary>One conditional write of a claim (a refresh intent). False when another activation wrote first; the state is then re-read.</summary>
    public async Task<bool> TryClaimAsync(TState claimed)
    {
        _stored.State = claimed;
        try
        {
            await _stored.WriteStateAsync();
            return true;
        }
        catch (InconsistentStateException)
        {
            LogLostWrite(_logger, _logId);
            await RereadAsync();
            return false;
        }
    }

    /// <summary>
    /// Makes <paramref name="decided"/> durable before anyone sees it. On failure it stays in memory (the old
    /// refresh token is spent and must never be sent again) and the write is retried, here and by a timer,
    /// while the activation is kept alive; callers meanwhile get UNAVAILABLE, never the unstored state.
    /// </summary>
    public async Task WriteDurablyAsync(TState decided)
    {
        if (!HasPendingWrite) _metrics.PersistencePending(+1);
        HasPendingWrite = true;
        _stored.State = decided;
        await FlushAsync();
    }

    /// <summary>Retries a pending write (callers hold the lock). Throws UNAVAILABLE when it still fails after the attempts per call.</summary>
    public async Task FlushAsync()
    {
        for (var attempt = 1; HasPendingWrite; attempt++)
        {
            try
            {
                await WriteAsync(_stored.State, WriteMode.Fenced);
                HasPendingWrite = false;
                _metrics.PersistencePending(-1);
                _retryTimer?.Dispose();
                _retryTimer = null;
            }
            catch (Exception ex) when (ex is not BrokerException)
            {
                LogPersistFailed(_logger, _logId, attempt, ex.GetType().Name);
                _owner.KeepActiveFor(TimeSpan.FromMinutes(10));
                if (attempt >= _retry.AttemptsPerCall)
                {
                    _retryTimer ??= _owner.StartTimer(RetryInBackground, _retry.Delay);
                    throw new BrokerException(BrokerErrorReason.ProviderUnavailable,
                        "new tokens could not be stored yet; the broker keeps trying.", _retry.Delay);
                }
                await Task.Delay(_retry.Delay, _time);
            }
        }
    }

    private async Task RetryInBackground()
    {
        if (!HasPendingWrite) return;
        using var held = await LockAsync();
        try
        {
            await FlushAsync();
        }
        catch (BrokerException)
        {
            // Still failing; the next tick tries again.
        }
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        private int _released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "{Grain}: state could not be persisted (attempt {Attempt}, {Error}); holding it in memory.")]
    private static partial void LogPersistFailed(ILogger logger, string grain, int attempt, string error);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Debug, Message = "{Grain}: another activation changed the state first; re-reading.")]
    private static partial void LogLostWrite(ILogger logger, string grain);
}
