namespace Broker.Silo.Events;

/// <summary>When a failed webhook delivery is tried again: exponential backoff with jitter, until the retry period ends.</summary>
public static class RetrySchedule
{
    /// <summary>
    /// The next attempt after <paramref name="attempts"/> failures, or null once the event is older than the retry
    /// period (dead letter). <paramref name="draw"/> in [0, 1) spreads retries of one outage: half the delay is random.
    /// </summary>
    public static DateTimeOffset? Next(int attempts, DateTimeOffset eventTime, DateTimeOffset now, EventDeliveryOptions options, double draw)
    {
        if (now - eventTime >= options.RetryFor) return null;
        var exponent = Math.Min(Math.Max(attempts - 1, 0), 30);
        var ticks = Math.Min(options.FirstRetryDelay.Ticks * Math.Pow(2, exponent), options.MaxRetryDelay.Ticks);
        var delay = TimeSpan.FromTicks((long)(ticks * (0.5 + draw / 2)));
        // The last try falls at the end of the period rather than past it.
        var last = eventTime + options.RetryFor;
        return now + delay < last ? now + delay : last;
    }
}
