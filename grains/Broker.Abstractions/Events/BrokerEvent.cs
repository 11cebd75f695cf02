using Broker.Abstractions.Identity;

namespace Broker.Abstractions.Events;

/// <summary>
/// One fact a family (or a client token) emits: what happened, to which provider and subject, whose family it is, why,
/// and its status afterwards. Never a token, code or secret. <see cref="Id"/> is what receivers dedupe by.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record BrokerEvent(
    [property: Id(0)] Guid Id,
    [property: Id(1)] BrokerEventType Type,
    [property: Id(2)] DateTimeOffset Time,
    [property: Id(3)] string Provider,
    [property: Id(4)] string? Subject,
    [property: Id(5)] string? Owner,
    [property: Id(6)] string? Reason,
    [property: Id(7)] string Status,
    [property: Id(8)] ScopeSet Scopes,
    [property: Id(9)] int Suppressed)
{
    /// <summary>A new event with a time-ordered id (UUID v7).</summary>
    public static BrokerEvent Create(BrokerEventType type, DateTimeOffset time, string provider, string? subject, string? owner,
        string? reason, string status, ScopeSet scopes, int suppressed = 0) =>
        new(Guid.CreateVersion7(time), type, time, provider, subject, owner, reason, status, scopes, suppressed);
}

/// <summary>An event as the outbox holds it: <see cref="Sequence"/> increases across the whole broker and is the WatchEvents cursor.</summary>
public sealed record StoredEvent(long Sequence, BrokerEvent Event);
