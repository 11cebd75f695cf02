using System.Diagnostics.Metrics;

namespace Broker.Grains.Telemetry;

/// <summary>Family events on the broker's meter: emitted, delivered, retried, dead-lettered, and how long delivery took. Tagged by type only.</summary>
public sealed class EventMetrics
{
    private readonly Counter<long> _emitted;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _retried;
    private readonly Counter<long> _deadLettered;
    private readonly Histogram<double> _latency;

    public EventMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(BrokerMetrics.MeterName);
        _emitted = meter.CreateCounter<long>("broker.events.emitted", description: "Events stored in the outbox, by type.");
        _delivered = meter.CreateCounter<long>("broker.events.delivered", description: "Webhook deliveries a receiver accepted (2xx), by type.");
        _retried = meter.CreateCounter<long>("broker.events.retried", description: "Webhook attempts that failed and were scheduled again, by type.");
        _deadLettered = meter.CreateCounter<long>("broker.events.dead_lettered", description: "Webhook deliveries given up after the retry period, by type.");
        _latency = meter.CreateHistogram<double>("broker.events.delivery_latency", unit: "ms", description: "From an event's time to its receiver's acceptance.");
    }

    public void Emitted(string type) => _emitted.Add(1, new KeyValuePair<string, object?>("type", type));
    public void Retried(string type) => _retried.Add(1, new KeyValuePair<string, object?>("type", type));
    public void DeadLettered(string type) => _deadLettered.Add(1, new KeyValuePair<string, object?>("type", type));

    public void Delivered(string type, TimeSpan latency)
    {
        _delivered.Add(1, new KeyValuePair<string, object?>("type", type));
        _latency.Record(latency.TotalMilliseconds, new KeyValuePair<string, object?>("type", type));
    }
}
