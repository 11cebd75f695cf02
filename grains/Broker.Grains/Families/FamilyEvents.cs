using Broker.Abstractions.Events;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Events;
using Broker.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broker.Grains.Families;

/// <summary>
/// Turns a family's notices into events and stores them in the outbox before the grain's call returns: once this
/// returns they count as emitted. Shared by every family grain (and client-token grain) of a silo.
/// </summary>
public sealed partial class FamilyEvents(IEventOutbox outbox, EventMetrics metrics, IOptions<EventOptions> options, ILogger<FamilyEvents> logger)
{
    private const int Attempts = 3;

    public EventOptions Options => options.Value;

    public async Task EmitAsync(FamilyKey family, TokenFamilyState state, IReadOnlyList<FamilyNotice> notices, DateTimeOffset now)
    {
        var events = notices.Select(n => BrokerEvent.Create(n.Type, now, family.Provider.Value, family.Subject.Value, state.Owner,
            FamilyWireNames.Of(n.Reason), FamilyWireNames.Of(state.Status), state.Scopes, n.Suppressed)).ToList();
        await AppendAsync(events, family.Provider.Value);
    }

    /// <summary>Stores events (of a family or a client token) in the outbox, retrying a short outage; throws when it could not.</summary>
    public async Task AppendAsync(IReadOnlyList<BrokerEvent> events, string provider)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await outbox.AppendAsync(events);
                break;
            }
            catch (Exception ex) when (attempt < Attempts && ex is not OperationCanceledException)
            {
                // The state that makes the event true is already stored: a short outage must not lose it.
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                foreach (var e in events) LogLost(logger, e.Id, BrokerEventNames.Of(e.Type), provider, ex.GetType().Name);
                throw;
            }
        }
        foreach (var e in events) metrics.Emitted(BrokerEventNames.Of(e.Type));
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Error, Message = "Event {EventId} ({Type}) at {Provider} could not be stored in the outbox: {Error}. It is lost.")]
    private static partial void LogLost(ILogger logger, Guid eventId, string type, string provider, string error);
}
