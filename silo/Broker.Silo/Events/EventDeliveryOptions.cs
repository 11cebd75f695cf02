using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Events;

/// <summary>How events reach callers: <c>Broker:Events:Delivery</c> (the WatchEvents stream and webhooks).</summary>
public sealed class EventDeliveryOptions
{
    public const string Section = "Broker:Events:Delivery";

    /// <summary>How often an open WatchEvents stream looks for new events.</summary>
    public TimeSpan WatchPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often each silo's webhook worker looks for due deliveries.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claimed delivery is this silo's; past it (the silo died) another silo delivers it, perhaps again.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>One webhook request's timeout; shorter than the lease.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first retry's delay; each failure doubles it (with jitter) up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a delivery is retried from the event's time before it is dead-lettered.</summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromHours(25);

    /// <summary>Deliveries claimed per round.</summary>
    public int BatchSize { get; set; } = 20;
}

public sealed class EventDeliveryOptionsValidator : IValidateOptions<EventDeliveryOptions>
{
    public ValidateOptionsResult Validate(string? name, EventDeliveryOptions options)
    {
        var failures = new SettingFailures(EventDeliveryOptions.Section);
        failures.Positive(nameof(options.WatchPollInterval), options.WatchPollInterval);
        failures.Positive(nameof(options.PollInterval), options.PollInterval);
        failures.Positive(nameof(options.Lease), options.Lease);
        failures.Positive(nameof(options.RequestTimeout), options.RequestTimeout);
        // A request still running when its lease ends would be sent a second time by another silo.
        if (options.RequestTimeout >= options.Lease)
            failures.Add(nameof(options.RequestTimeout), $"must be shorter than {failures.Path(nameof(options.Lease))} (was {options.RequestTimeout}, lease {options.Lease}).");
        failures.Positive(nameof(options.FirstRetryDelay), options.FirstRetryDelay);
        if (options.MaxRetryDelay < options.FirstRetryDelay)
            failures.Add(nameof(options.MaxRetryDelay), $"must be at least {failures.Path(nameof(options.FirstRetryDelay))} (was {options.MaxRetryDelay}).");
        failures.Positive(nameof(options.RetryFor), options.RetryFor);
        failures.AtLeast(nameof(options.BatchSize), options.BatchSize, 1);
        return failures.Result;
    }
}
