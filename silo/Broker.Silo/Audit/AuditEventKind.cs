using Broker.V1;

namespace Broker.Silo.Audit;

/// <summary>
/// One kind of audit event: its id (a number of <see cref="AuditEvent"/>), its level, the <c>event</c> tag it is
/// counted under in <c>broker.audit.events</c>, and its message template. The template's holes name the event's values,
/// which are given in the order the names first appear in it.
/// </summary>
public sealed class AuditEventKind(AuditEvent id, LogLevel level, string counted, string template)
{
    public EventId EventId { get; } = new((int)id, id.ToString());
    public LogLevel Level { get; } = level;
    public string Counted { get; } = counted;
    public string Template { get; } = template;
    internal AuditTemplate Parsed { get; } = AuditTemplate.Parse(template);
}

/// <summary>The audit trail's events, each declared once for both of its readers: the audit writer and the logging providers.</summary>
public static class AuditEventKinds
{
    public static readonly AuditEventKind TokenHandedOut = new(AuditEvent.TokenHandedOut, LogLevel.Information, "token_handed_out",
        "Audit: {Caller} {Action} provider={Provider} family={Family}: token handed out from {Source}.");

    public static readonly AuditEventKind FamilyRefreshed = new(AuditEvent.FamilyRefreshed, LogLevel.Information, "family_refreshed",
        "Audit: {Caller} caused a refresh of provider={Provider} family={Family}.");

    public static readonly AuditEventKind AuthorizationBegun = new(AuditEvent.AuthorizationBegun, LogLevel.Information, "authorization_begun",
        "Audit: {Caller} began an authorization for provider={Provider} family={Family}.");

    public static readonly AuditEventKind AuthorizationClaimed = new(AuditEvent.AuthorizationClaimed, LogLevel.Information, "authorization_claimed",
        "Audit: {Caller} completed an authorization for provider={Provider} family={Family}: the family holds its tokens.");

    public static readonly AuditEventKind AuthorizationCompleted = new(AuditEvent.AuthorizationCompleted, LogLevel.Information, "authorization_completed",
        "Audit: authorization callback for provider={Provider} family={Family}: {Outcome}.");

    public static readonly AuditEventKind TokensImported = new(AuditEvent.TokensImported, LogLevel.Information, "tokens_imported",
        "Audit: {Caller} imported tokens into provider={Provider} family={Family}.");

    public static readonly AuditEventKind FamilyRevoked = new(AuditEvent.FamilyRevoked, LogLevel.Information, "family_revoked",
        "Audit: {Caller} revoked provider={Provider} family={Family}.");

    public static readonly AuditEventKind FamilyDescribed = new(AuditEvent.FamilyDescribed, LogLevel.Information, "family_described",
        "Audit: {Caller} described provider={Provider} family={Family}.");

    public static readonly AuditEventKind EventsWatched = new(AuditEvent.EventsWatched, LogLevel.Information, "events_watched",
        "Audit: {Caller} watched family events (stream ended).");

    public static readonly AuditEventKind DpopProofCreated = new(AuditEvent.DpopProofCreated, LogLevel.Information, "dpop_proof_created",
        "Audit: {Caller} got a DPoP proof for provider={Provider} family={Family}.");

    public static readonly AuditEventKind Denied = new(AuditEvent.Denied, LogLevel.Warning, "denied",
        "Audit: {Caller} denied {Action} provider={Provider} family={Family}: may not {Why}.");

    public static readonly AuditEventKind Unauthenticated = new(AuditEvent.Unauthenticated, LogLevel.Warning, "denied",
        "Audit: unauthenticated {Action} from {Peer}: {Failure}.");

    public static readonly AuditEventKind Failed = new(AuditEvent.Failed, LogLevel.Information, "failed",
        "Audit: {Caller} {Action} provider={Provider} family={Family} failed: {Reason}.");
}
