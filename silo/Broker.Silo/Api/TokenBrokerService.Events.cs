using Broker.Abstractions.Identity;
using Broker.Silo.Callers;
using Broker.Silo.Events;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Api;

public sealed partial class TokenBrokerService
{
    private const int MaxFilterEntries = 100;

    /// <summary>Streams the outbox from the request's cursor, filtered by the caller's policy and the request's filter, until the caller leaves.</summary>
    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<BrokerEventMessage> responseStream, ServerCallContext context)
    {
        if (request.Providers.Count > MaxFilterEntries || request.Subjects.Count > MaxFilterEntries)
            throw new Abstractions.BrokerException(Abstractions.BrokerErrorReason.InvalidArgument, $"at most {MaxFilterEntries} providers and {MaxFilterEntries} subjects may be named.");
        var filter = new EventFilter(
            [.. request.Providers.Select(p => ProviderName.Parse(p).Value)],
            [.. request.Subjects.Select(s => Subject.Parse(s).Value)]);
        var caller = CallerContext.Of(context).Caller;
        try
        {
            await foreach (var stored in events.WatchAsync((long)request.Cursor, context.CancellationToken))
            {
                if (!filter.Admits(stored.Event) || !caller.Covers(stored.Event)) continue;
                await responseStream.WriteAsync(EventWatch.ToMessage(stored), context.CancellationToken);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The caller left: the normal end of a watch.
        }
    }
}
