using Broker.V1;

namespace Broker.Silo.Audit;

/// <summary>
/// One kind of audit event: its id (a number of <see cref="AuditEvent"/>), its level and its message template. The
/// template's holes name the event's values, which are given in the order the names first appear in it.
/// </summary>
public sealed class AuditEventKind(AuditEvent id, LogLevel level, string template)
{
    public EventId EventId { get; } = new((int)id, id.ToString());
    public LogLevel Level { get; } = level;
    public string Template { get; } = template;
    internal AuditTemplate Parsed { get; } = AuditTemplate.Parse(template);
}

/// <summary>The audit trail's events, each declared once for both of its readers: the audit writer and the logging providers.</summary>
public static class AuditEventKinds
{
    public static readonly AuditEventKind TokenHandedOut = new(AuditEvent.TokenHandedOut, LogLevel.Information,
        "Audit: {Caller} {Action} provider={Provider} family={Family}: token handed out from {Source}.");

    public static readonly AuditEventKind FamilyRefreshed = new(AuditEvent.FamilyRefreshed, LogLevel.Information,
        "Audit: {Caller} caused a refresh of provider={Provider} family={Family}.");

    public static readonly AuditEventKind AuthorizationBegun = new(AuditEvent.AuthorizationBegun, LogLevel.Information,
        "Audit: {Caller} began an authorization for provider={Provider} family={Family}.");

    public static readonly AuditEventKind AuthorizationClaimed = new(AuditEvent.AuthorizationClaimed, LogLevel.Information,
        "Audit: {Caller} completed an authorization for provider={Provider} family={Family}: the family holds its tokens.");

    public static readonly AuditEventKind AuthorizationCompleted = new(AuditEvent.AuthorizationCompleted, LogLevel.Information,
        "Audit: authorization callback for provider={Provider} family={Family}: {Outcome}.");

    public static readonly AuditEventKind TokensImported = new(AuditEvent.TokensImported, LogLevel.Information,
        "Audit: {Caller} imported tokens into provider={Provider} family={Family}.");

    public static readonly AuditEventKind FamilyRevoked = new(AuditEvent.FamilyRevoked, LogLevel.Information,
        "Audit: {Caller} revoked provider={Provider} family={Family}.");

    public static readonly AuditEventKind FamilyDescribed = new(AuditEvent.FamilyDescribed, LogLevel.Information,
        "Audit: {Caller} described provider={Provider} family={Family}.");

    public static readonly AuditEventKind EventsWatched = new(AuditEvent.EventsWatched, LogLevel.Information,
        "Audit: {Caller} watched family events (stream ended).");

    public static readonly AuditEventKind DpopProofCreated = new(AuditEvent.DpopProofCreated, LogLevel.Information,
        "Audit: {Caller} got a DPoP proof for provider={Provider} family={Family}.");

    public static readonly AuditEventKind Denied = new(AuditEvent.Denied, LogLevel.Warning,
        "Audit: {Caller} denied {Action} provider={Provider} family={Family}: may not {Why}.");

    public static readonly AuditEventKind Unauthenticated = new(AuditEvent.Unauthenticated, LogLevel.Warning,
        "Audit: unauthenticated {Action} from {Peer}: {Failure}.");

    public static readonly AuditEventKind Failed = new(AuditEvent.Failed, LogLevel.Information,
        "Audit: {Caller} {Action} provider={Provider} family={Family} failed: {Reason}.");
}
