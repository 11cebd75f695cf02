using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Broker.V1;

namespace Broker.Silo.Audit;

/// <summary>
/// Writes audit events as JSON lines on a thread of its own, so a call only enqueues (no lock shared with the other
/// request threads, no write per event): the console logger takes one lock per line from every request thread and
/// writes each line alone, which cost a busy silo a third of its CPU. Bounded: beyond the capacity an event is dropped,
/// counted, and the gap itself written to the trail (event 6013) once there is room again. Stopping writes what waits.
/// Hand-rolled because Microsoft.Extensions.Logging ships no batching sink; the line is the shape of its JSON console
/// formatter (Timestamp, EventId, LogLevel, Category, Message, State) so one parser reads both.
/// </summary>
public sealed class AuditLineWriter : IDisposable
{
    /// <summary>
    /// Pipes write at most PIPE_BUF (4096) bytes atomically: a batch no larger never has a line of another writer of the
    /// same standard output (the console logger) land in its middle.
    /// </summary>
    public const int PipeBatchBytes = 4096;

    /// <summary>A file takes each write whole: one write per 64 KiB, not per 4 KiB (the writes were 3 % of a busy silo's CPU).</summary>
    public const int FileBatchBytes = 64 * 1024;
    private static readonly TimeSpan BatchInterval = TimeSpan.FromMilliseconds(20);

    private readonly ConcurrentQueue<AuditRecord> _queue = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Stream _output;
    private readonly int _capacity;
    private readonly Action<long>? _onDropped;
    private readonly TimeProvider _time;
    private readonly int _batchBytes;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stopping = new();
    private int _queued;
    private int _waiting;
    private long _dropped;
    private long _droppedReported;

    public AuditLineWriter(Stream output, int capacity, TimeProvider time, Action<long>? onDropped = null, int batchBytes = PipeBatchBytes)
    {
        _output = output;
        _batchBytes = batchBytes;
        _capacity = capacity;
        _time = time;
        _onDropped = onDropped;
        _thread = new Thread(Run) { IsBackground = true, Name = "Broker audit writer" };
        _thread.Start();
    }

    /// <summary>Events dropped since start because the writer could not keep up.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Never blocks: queues the event, or drops and counts it when <c>capacity</c> events already wait.</summary>
    public void Enqueue(AuditRecord record)
    {
        if (Interlocked.Increment(ref _queued) > _capacity)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _dropped);
            _onDropped?.Invoke(1);
            return;
        }
        _queue.Enqueue(record);
        // Wake the writer only when it sleeps on an empty queue: a busy writer drains without being signalled.
        if (Volatile.Read(ref _waiting) == 1 && Interlocked.Exchange(ref _waiting, 0) == 1) _signal.Release();
    }

    private void Run()
    {
        var line = new ArrayBufferWriter<byte>(512);
        var batch = new ArrayBufferWriter<byte>(_batchBytes * 2);
        using var json = new Utf8JsonWriter(line);
        while (true)
        {
            var stopping = _stopping.IsCancellationRequested;
            Drain(json, line, batch);
            if (stopping) return;
            Interlocked.Exchange(ref _waiting, 1); // a full fence: the emptiness check below cannot move before it
            if (_queue.IsEmpty)
            {
                try { _signal.Wait(_stopping.Token); } catch (OperationCanceledException) { }
            }
            Interlocked.Exchange(ref _waiting, 0);
            // Let a busy second's events gather into a few writes rather than one write each.
            if (!_stopping.IsCancellationRequested) _stopping.Token.WaitHandle.WaitOne(BatchInterval);
        }
    }

    private void Drain(Utf8JsonWriter json, ArrayBufferWriter<byte> line, ArrayBufferWriter<byte> batch)
    {
        while (_queue.TryDequeue(out var record))
        {
            Interlocked.Decrement(ref _queued);
            Append(json, line, batch, record, static (w, r) => r.Write(w));
        }
        var dropped = Interlocked.Read(ref _dropped);
        if (dropped != _droppedReported)
        {
            var gap = dropped - _droppedReported;
            _droppedReported = dropped;
            Append(json, line, batch, (Writer: this, Gap: gap), static (w, g) => g.Writer.WriteGap(w, g.Gap));
        }
        Flush(batch);
    }

    // The event passed beside a static writer, not captured: a closure per event was an allocation per call.
    private void Append<T>(Utf8JsonWriter json, ArrayBufferWriter<byte> line, ArrayBufferWriter<byte> batch, T item, Action<Utf8JsonWriter, T> write)
    {
        line.ResetWrittenCount();
        json.Reset(line);
        try
        {
            write(json, item);
            json.Flush();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            return; // a malformed event is not worth the trail: the rest still gets written
        }
        if (batch.WrittenCount + line.WrittenCount + 1 > _batchBytes) Flush(batch);
        batch.Write(line.WrittenSpan);
        batch.Write("\n"u8);
    }

    private void Flush(ArrayBufferWriter<byte> batch)
    {
        if (batch.WrittenCount == 0) return;
        try
        {
            _output.Write(batch.WrittenSpan);
            _output.Flush();
        }
        catch (IOException)
        {
            // Standard output closed (the supervisor is gone): nothing left to write to.
        }
        batch.ResetWrittenCount();
    }

    private void WriteGap(Utf8JsonWriter json, long gap)
    {
        AuditJson.Begin(json, _time.GetUtcNow(), (int)AuditEvent.Dropped, LogLevel.Warning,
            $"Audit: {gap} events were dropped: the audit writer could not keep up.");
        json.WriteNumber("Dropped", gap);
        AuditJson.End(json);
    }

    /// <summary>Writes what waits, then stops the writer.</summary>
    public void Dispose()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        _thread.Join(TimeSpan.FromSeconds(10));
        _stopping.Dispose();
        _signal.Dispose();
    }
}
