using Broker.Grains.Telemetry;
using Broker.V1;

namespace Broker.Silo.Audit;

/// <summary>
/// Who did what to which family, with what outcome: one structured event per call (<see cref="AuditEventKinds"/>) with
/// stable event ids (6000-6099, the numbers of <see cref="AuditEvent"/> in the proto), and the counter
/// <c>broker.audit.events</c>. Families appear as their hashed log id; never a token, code or subject. Each event goes
/// to the audit writer when the sink is Stdout or File, and to the logging providers of the category <c>Broker.Audit</c>
/// that want it (all of them with the Logging sink; with the others, a test's capture or an OTLP exporter).
/// </summary>
public sealed class AuditLog(ILoggerFactory loggers, BrokerMetrics metrics, TimeProvider? time = null, AuditLineWriter? writer = null)
{
    public const string Category = "Broker.Audit";

    private readonly ILogger _logger = loggers.CreateLogger(Category);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The events a successful TokenBroker call can leave: the values its (broker.v1.rpc) option may name.</summary>
    public static bool IsCallEvent(AuditEvent audited) => audited is AuditEvent.TokenHandedOut or AuditEvent.AuthorizationBegun or AuditEvent.AuthorizationClaimed
        or AuditEvent.TokensImported or AuditEvent.FamilyRevoked or AuditEvent.FamilyDescribed or AuditEvent.EventsWatched
        or AuditEvent.DpopProofCreated;

    /// <summary>A call succeeded: the event its method declares. <paramref name="source"/> is the token's, when it handed one out.</summary>
    public void Succeeded(AuditEvent audited, string caller, string action, string provider, string family, string? source)
    {
        switch (audited)
        {
            case AuditEvent.TokenHandedOut:
                var from = source ?? "-";
                Write(AuditEventKinds.TokenHandedOut, from, [caller, action, provider, family, from]);
                if (source == "refresh") Write(AuditEventKinds.FamilyRefreshed, "ok", [caller, provider, family]);
                break;
            case AuditEvent.AuthorizationBegun: Write(AuditEventKinds.AuthorizationBegun, "ok", [caller, provider, family]); break;
            case AuditEvent.AuthorizationClaimed: Write(AuditEventKinds.AuthorizationClaimed, "ok", [caller, provider, family]); break;
            case AuditEvent.TokensImported: Write(AuditEventKinds.TokensImported, "ok", [caller, provider, family]); break;
            case AuditEvent.FamilyRevoked: Write(AuditEventKinds.FamilyRevoked, "ok", [caller, provider, family]); break;
            case AuditEvent.FamilyDescribed: Write(AuditEventKinds.FamilyDescribed, "ok", [caller, provider, family]); break;
            case AuditEvent.EventsWatched: Write(AuditEventKinds.EventsWatched, "ok", [caller]); break;
            case AuditEvent.DpopProofCreated: Write(AuditEventKinds.DpopProofCreated, "ok", [caller, provider, family]); break;
            default: throw new ArgumentOutOfRangeException(nameof(audited), audited, "not an event a call leaves.");
        }
    }

    public void AuthorizationCompleted(string provider, string family, string outcome) =>
        Write(AuditEventKinds.AuthorizationCompleted, outcome, [provider, family, outcome]);

    public void Denied(string caller, string action, string provider, string family, string why) =>
        Write(AuditEventKinds.Denied, "permission_denied", [caller, action, provider, family, why]);

    public void Unauthenticated(string action, string peer, string failure) =>
        Write(AuditEventKinds.Unauthenticated, "unauthenticated", [action, peer, failure]);

    public void Failed(string caller, string action, string provider, string family, string reason) =>
        Write(AuditEventKinds.Failed, reason, [caller, action, provider, family, reason]);

    /// <summary>One event to each reader that wants it, and its count under its kind's tag and <paramref name="outcome"/>.</summary>
    private void Write(AuditEventKind kind, string outcome, params ReadOnlySpan<string> values)
    {
        var logged = _logger.IsEnabled(kind.Level);
        if (writer is not null || logged)
        {
            var record = new AuditRecord(_time.GetUtcNow(), kind, values);
            writer?.Enqueue(record);
            if (logged) _logger.Log(kind.Level, kind.EventId, record, null, static (r, _) => r.ToString());
        }
        metrics.AuditEvent(kind.Counted, outcome);
    }
}
