namespace Broker.Abstractions.Events;

/// <summary>
/// Where emitted events are kept, in order, before they count as emitted: PostgreSQL in cluster mode (durable, and the
/// source of webhook deliveries), memory in embedded mode. Read by WatchEvents from a cursor.
/// </summary>
public interface IEventOutbox
{
    /// <summary>Stores the events (all or none); returns when they are stored.</summary>
    Task AppendAsync(IReadOnlyList<BrokerEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="max"/> events after <paramref name="cursor"/>, oldest first.</summary>
    Task<IReadOnlyList<StoredEvent>> ReadAfterAsync(long cursor, int max, CancellationToken cancellationToken = default);
}
