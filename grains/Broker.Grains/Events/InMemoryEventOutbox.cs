using Broker.Abstractions.Events;

namespace Broker.Grains.Events;

/// <summary>
/// The embedded mode's outbox: this process's memory, lost when it stops, as everything else in that mode. Keeps the
/// newest <see cref="Capacity"/> events for WatchEvents; webhooks need the PostgreSQL outbox (cluster mode).
/// </summary>
public sealed class InMemoryEventOutbox : IEventOutbox
{
    public const int Capacity = 10_000;
    private readonly object _gate = new();
    private readonly LinkedList<StoredEvent> _events = new();
    private long _sequence;

    public Task AppendAsync(IReadOnlyList<BrokerEvent> events, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            foreach (var e in events)
            {
                _events.AddLast(new StoredEvent(++_sequence, e));
                if (_events.Count > Capacity) _events.RemoveFirst();
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StoredEvent>> ReadAfterAsync(long cursor, int max, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<StoredEvent> found = [.. _events.Where(e => e.Sequence > cursor).Take(max)];
            return Task.FromResult(found);
        }
    }
}
