using System.Runtime.CompilerServices;
using Broker.Abstractions.Events;
using Broker.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Events;

/// <summary>What a WatchEvents request asks for beside the caller's policy: exact providers and subjects, or all.</summary>
public sealed record EventFilter(IReadOnlyList<string> Providers, IReadOnlyList<string> Subjects)
{
    public bool Admits(BrokerEvent e) =>
        (Providers.Count == 0 || Providers.Contains(e.Provider, StringComparer.Ordinal))
        && (Subjects.Count == 0 || (e.Subject is not null && Subjects.Contains(e.Subject, StringComparer.Ordinal)));
}

/// <summary>Reads the outbox from a cursor, then polls it for what comes next: the WatchEvents stream's source.</summary>
public sealed class EventWatch(IEventOutbox outbox, IOptions<EventDeliveryOptions> options, TimeProvider time)
{
    private const int Page = 200;

    public async IAsyncEnumerable<StoredEvent> WatchAsync(long cursor, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await outbox.ReadAfterAsync(cursor, Page, cancellationToken);
            foreach (var stored in page)
            {
                cursor = stored.Sequence;
                yield return stored;
            }
            if (page.Count < Page) await Task.Delay(options.Value.WatchPollInterval, time, cancellationToken);
        }
    }

    public static BrokerEventMessage ToMessage(StoredEvent stored)
    {
        var e = stored.Event;
        var message = new BrokerEventMessage
        {
            Id = e.Id.ToString(),
            Type = BrokerEventNames.Of(e.Type),
            Time = Timestamp.FromDateTimeOffset(e.Time),
            Provider = e.Provider,
            Subject = e.Subject ?? "",
            Owner = e.Owner ?? "",
            Reason = e.Reason ?? "",
            Status = e.Status,
            Suppressed = (uint)e.Suppressed,
            Cursor = (ulong)stored.Sequence,
        };
        message.Scopes.AddRange(e.Scopes.Values);
        return message;
    }
}
