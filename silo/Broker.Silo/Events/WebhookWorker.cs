using Broker.Abstractions.Events;
using Broker.Grains.Telemetry;
using Broker.Silo.Callers;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Events;

/// <summary>
/// Every silo's webhook delivery loop: claims due deliveries with a lease, sends them, and records the outcome (delivered,
/// retry later, dead letter). A silo that dies mid-delivery leaves its lease to expire; another silo then sends the
/// event again with the same webhook-id, which receivers dedupe by.
/// </summary>
public sealed partial class WebhookWorker(
    WebhookDeliveries deliveries,
    WebhookSender sender,
    CallerRegistry callers,
    IOptions<EventDeliveryOptions> options,
    EventMetrics metrics,
    TimeProvider time,
    ILogger<WebhookWorker> logger) : BackgroundService
{
    private readonly string _owner = $"{Environment.MachineName}/{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<ClaimedDelivery> claimed = [];
            try
            {
                claimed = await deliveries.ClaimAsync(_owner, time.GetUtcNow(), settings.Lease, settings.BatchSize, stoppingToken);
                await Task.WhenAll(claimed.Select(d => DeliverAsync(d, settings, stoppingToken)));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database is away: the leases expire and the next round (here or elsewhere) takes them again.
                LogRoundFailed(logger, ex.GetType().Name);
            }
            if (claimed.Count < settings.BatchSize)
            {
                try
                {
                    await Task.Delay(settings.PollInterval, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task DeliverAsync(ClaimedDelivery delivery, EventDeliveryOptions settings, CancellationToken stoppingToken)
    {
        var type = BrokerEventNames.Of(delivery.Stored.Event.Type);
        // A caller removed from the configuration (or its webhook) since the event: nothing to send it to.
        var webhook = callers.Named(delivery.Caller)?.Webhook;
        string? failure;
        if (webhook is null)
        {
            failure = "the caller has no webhook any more";
        }
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(settings.RequestTimeout);
            failure = await sender.SendAsync(delivery.Stored, webhook, timeout.Token);
        }
        var now = time.GetUtcNow();
        if (failure is null)
        {
            await deliveries.DeliveredAsync(delivery, _owner, now, stoppingToken);
            metrics.Delivered(type, now - delivery.Stored.Event.Time);
            return;
        }
        var next = webhook is null ? null : RetrySchedule.Next(delivery.Attempts, delivery.Stored.Event.Time, now, settings, Random.Shared.NextDouble());
        await deliveries.FailedAsync(delivery, _owner, now, next, failure, stoppingToken);
        if (next is null)
        {
            metrics.DeadLettered(type);
            LogDeadLettered(logger, delivery.Stored.Event.Id, type, delivery.Caller, delivery.Attempts, failure);
        }
        else
        {
            metrics.Retried(type);
            LogRetrying(logger, delivery.Stored.Event.Id, type, delivery.Caller, delivery.Attempts, failure, next.Value);
        }
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Webhook delivery of event {EventId} ({Type}) to {Caller} failed (attempt {Attempts}): {Failure}; next attempt at {Next:O}.")]
    private static partial void LogRetrying(ILogger logger, Guid eventId, string type, string caller, int attempts, string failure, DateTimeOffset next);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Error, Message = "Webhook delivery of event {EventId} ({Type}) to {Caller} dead-lettered after {Attempts} attempts: {Failure}. Replay it with broker-ops events replay.")]
    private static partial void LogDeadLettered(ILogger logger, Guid eventId, string type, string caller, int attempts, string failure);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning, Message = "Webhook delivery round failed: {Error}; retrying.")]
    private static partial void LogRoundFailed(ILogger logger, string error);
}
