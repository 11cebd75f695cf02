using System.Diagnostics.Metrics;

namespace Broker.Grains.Telemetry;

/// <summary>
/// The broker's own meter, <c>Broker</c>. Tags are provider names, sources and outcomes: never a subject
/// or a token.
/// </summary>
public sealed class BrokerMetrics
{
    public const string MeterName = "Broker";

    private readonly Counter<long> _tokensServed;
    private readonly Counter<long> _upstreamRequests;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Counter<long> _throttled;
    private readonly Counter<long> _reuseDetected;
    private readonly Counter<long> _reauthorizationRequired;
    private readonly UpDownCounter<long> _pendingPersistence;
    private readonly Counter<long> _auditEvents;
    private readonly Counter<long> _auditDropped;
    private readonly Counter<long> _stateUnreadable;

    public BrokerMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _tokensServed = meter.CreateCounter<long>("broker.tokens.served", description: "Access tokens handed to callers, by source.");
        _upstreamRequests = meter.CreateCounter<long>("broker.upstream.requests", description: "Token endpoint requests, by provider, grant and outcome.");
        _upstreamDuration = meter.CreateHistogram<double>("broker.upstream.duration", unit: "ms", description: "Token endpoint round trips.");
        _throttled = meter.CreateCounter<long>("broker.throttled", description: "Token requests held back by a rate limit.");
        _reuseDetected = meter.CreateCounter<long>("broker.security.reuse_detected", description: "Superseded refresh tokens presented to the broker.");
        _reauthorizationRequired = meter.CreateCounter<long>("broker.families.reauthorization_required", description: "Families that became unusable, by reason.");
        _auditEvents = meter.CreateCounter<long>("broker.audit.events", description: "Audit events, by event and outcome.");
        _auditDropped = meter.CreateCounter<long>("broker.audit.dropped", description: "Audit events dropped because the audit writer could not keep up.");
        _stateUnreadable = meter.CreateCounter<long>("broker.security.state_unreadable", description: "Stored state that failed to decrypt (tampered, moved, or key gone).");
        _pendingPersistence = meter.CreateUpDownCounter<long>("broker.persistence.pending", description: "Families holding rotated tokens not yet stored.");
    }

    public void TokenServed(string provider, string source) =>
        _tokensServed.Add(1, new("provider", provider), new("source", source));

    public void UpstreamRequest(string provider, string grant, string outcome, double milliseconds)
    {
        _upstreamRequests.Add(1, new("provider", provider), new("grant", grant), new("outcome", outcome));
        _upstreamDuration.Record(milliseconds, new("provider", provider), new("grant", grant));
    }

    public void Throttled(string provider, string limit) => _throttled.Add(1, new("provider", provider), new("limit", limit));
    public void ReuseDetected(string provider) => _reuseDetected.Add(1, new KeyValuePair<string, object?>("provider", provider));
    public void ReauthorizationRequired(string provider, string reason) =>
        _reauthorizationRequired.Add(1, new("provider", provider), new("reason", reason));
    public void AuditEvent(string name, string outcome) => _auditEvents.Add(1, new("event", name), new("outcome", outcome));
    public void AuditDropped(long count) => _auditDropped.Add(count);
    public void StateUnreadable(string grainType) => _stateUnreadable.Add(1, new KeyValuePair<string, object?>("grain", grainType));

    private int _pending;

    /// <summary>Families of this silo holding rotated tokens not yet stored (also reported by health).</summary>
    public int PendingPersistence => Volatile.Read(ref _pending);

    public void PersistencePending(int delta)
    {
        Interlocked.Add(ref _pending, delta);
        _pendingPersistence.Add(delta);
    }
}
