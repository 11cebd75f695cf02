using System.Runtime.CompilerServices;
using Broker.V1;
using Grpc.Core;

namespace Broker.Client;

/// <summary>
/// One event of a family the caller's policy covers (never a token). <see cref="Id"/> is unique (receivers dedupe by it);
/// <see cref="Cursor"/> resumes a watch after this event.
/// </summary>
public sealed record BrokerEvent(
    string Id,
    string Type,
    DateTimeOffset Time,
    string Provider,
    string Subject,
    string Owner,
    string Reason,
    string Status,
    IReadOnlyList<string> Scopes,
    int Suppressed,
    ulong Cursor);

public sealed partial class BrokerClient
{
    /// <summary>
    /// The events of the families this caller's policy covers, from <paramref name="cursor"/> (0: the oldest the broker
    /// keeps), then as they happen, until cancelled. At least once: when the stream breaks (a silo stopped or died) it
    /// resumes from the last event returned, so an event may come twice; dedupe by <see cref="BrokerEvent.Id"/>.
    /// </summary>
    public IAsyncEnumerable<BrokerEvent> WatchEventsAsync(ulong cursor = 0, IEnumerable<string>? providers = null,
        IEnumerable<string>? subjects = null, CancellationToken cancellationToken = default)
    {
        var request = new WatchEventsRequest();
        request.Providers.AddRange(providers ?? []);
        request.Subjects.AddRange(subjects ?? []);
        return Watch(request, cursor, cancellationToken);
    }

    // A separate iterator, so that the public signature carries no compiler-generated state machine name.
    private async IAsyncEnumerable<BrokerEvent> Watch(WatchEventsRequest request, ulong cursor, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            request.Cursor = cursor;
            // No deadline: a watch lasts as long as its caller wants it.
            using var call = grpc.WatchEvents(request, new CallOptions(cancellationToken: cancellationToken));
            var stream = call.ResponseStream;
            while (true)
            {
                BrokerEventMessage message;
                try
                {
                    if (!await stream.MoveNext(cancellationToken)) yield break;
                    message = stream.Current;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && !cancellationToken.IsCancellationRequested)
                {
                    break; // resume below, from the last event handed out
                }
                catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
                {
                    throw BrokerClientException.From(ex);
                }
                cursor = message.Cursor;
                yield return ToEvent(message);
            }
            await Task.Delay(options.Value.WatchReconnectDelay, cancellationToken);
        }
    }

    private static BrokerEvent ToEvent(BrokerEventMessage m) => new(m.Id, m.Type, m.Time.ToDateTimeOffset(), m.Provider, m.Subject, m.Owner,
        m.Reason, m.Status, [.. m.Scopes], (int)m.Suppressed, m.Cursor);
}
