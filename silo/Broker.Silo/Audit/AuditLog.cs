using Broker.Grains.Telemetry;
using Broker.V1;

namespace Broker.Silo.Audit;

/// <summary>
/// Who did what to which family, with what outcome: one structured event per call under the category
/// <c>Broker.Audit</c> with stable event ids (6000-6099, the numbers of <see cref="AuditEvent"/> in the proto), and the
/// counter <c>broker.audit.events</c>. Families appear as their hashed log id; never a token, code or subject.
/// </summary>
public sealed partial class AuditLog(ILoggerFactory loggers, BrokerMetrics metrics)
{
    public const string Category = "Broker.Audit";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    /// <summary>The events a successful TokenBroker call can leave: the values its (broker.v1.rpc) option may name.</summary>
    public static bool IsCallEvent(AuditEvent audited) => audited is AuditEvent.TokenHandedOut or AuditEvent.AuthorizationBegun or AuditEvent.AuthorizationClaimed
        or AuditEvent.TokensImported or AuditEvent.FamilyRevoked or AuditEvent.FamilyDescribed or AuditEvent.EventsWatched
        or AuditEvent.DpopProofCreated;

    /// <summary>A call succeeded: the event its method declares. <paramref name="source"/> is the token's, when it handed one out.</summary>
    public void Succeeded(AuditEvent audited, string caller, string action, string provider, string family, string? source)
    {
        switch (audited)
        {
            case AuditEvent.TokenHandedOut: TokenHandedOut(caller, action, provider, family, source ?? "-"); break;
            case AuditEvent.AuthorizationBegun: AuthorizationBegun(caller, provider, family); break;
            case AuditEvent.AuthorizationClaimed: AuthorizationClaimed(caller, provider, family); break;
            case AuditEvent.TokensImported: TokensImported(caller, provider, family); break;
            case AuditEvent.FamilyRevoked: FamilyRevoked(caller, provider, family); break;
            case AuditEvent.FamilyDescribed: FamilyDescribed(caller, provider, family); break;
            case AuditEvent.EventsWatched: EventsWatched(caller); break;
            case AuditEvent.DpopProofCreated: DpopProofCreated(caller, provider, family); break;
            default: throw new ArgumentOutOfRangeException(nameof(audited), audited, "not an event a call leaves.");
        }
    }

    private void TokenHandedOut(string caller, string action, string provider, string family, string source)
    {
        LogTokenHandedOut(_logger, caller, action, provider, family, source);
        metrics.AuditEvent("token_handed_out", source);
        if (source == "refresh") Refreshed(caller, provider, family);
    }

    private void Refreshed(string caller, string provider, string family)
    {
        LogRefreshed(_logger, caller, provider, family);
        metrics.AuditEvent("family_refreshed", "ok");
    }

    private void AuthorizationBegun(string caller, string provider, string family)
    {
        LogAuthorizationBegun(_logger, caller, provider, family);
        metrics.AuditEvent("authorization_begun", "ok");
    }

    private void AuthorizationClaimed(string caller, string provider, string family)
    {
        LogAuthorizationClaimed(_logger, caller, provider, family);
        metrics.AuditEvent("authorization_claimed", "ok");
    }

    public void AuthorizationCompleted(string provider, string family, string outcome)
    {
        LogAuthorizationCompleted(_logger, provider, family, outcome);
        metrics.AuditEvent("authorization_completed", outcome);
    }

    private void TokensImported(string caller, string provider, string family)
    {
        LogTokensImported(_logger, caller, provider, family);
        metrics.AuditEvent("tokens_imported", "ok");
    }

    private void FamilyRevoked(string caller, string provider, string family)
    {
        LogFamilyRevoked(_logger, caller, provider, family);
        metrics.AuditEvent("family_revoked", "ok");
    }

    private void DpopProofCreated(string caller, string provider, string family)
    {
        LogDpopProofCreated(_logger, caller, provider, family);
        metrics.AuditEvent("dpop_proof_created", "ok");
    }

    [LoggerMessage(EventId = (int)AuditEvent.DpopProofCreated, Level = LogLevel.Information, Message = "Audit: {Caller} got a DPoP proof for provider={Provider} family={Family}.")]
    private static partial void LogDpopProofCreated(ILogger logger, string caller, string provider, string family);

    private void FamilyDescribed(string caller, string provider, string family)
    {
        LogFamilyDescribed(_logger, caller, provider, family);
        metrics.AuditEvent("family_described", "ok");
    }

    private void EventsWatched(string caller)
    {
        LogEventsWatched(_logger, caller);
        metrics.AuditEvent("events_watched", "ok");
    }

    public void Denied(string caller, string action, string provider, string family, string why)
    {
        LogDenied(_logger, caller, action, provider, family, why);
        metrics.AuditEvent("denied", "permission_denied");
    }

    public void Unauthenticated(string action, string peer, string failure)
    {
        LogUnauthenticated(_logger, action, peer, failure);
        metrics.AuditEvent("denied", "unauthenticated");
    }

    public void Failed(string caller, string action, string provider, string family, string reason)
    {
        LogFailed(_logger, caller, action, provider, family, reason);
        metrics.AuditEvent("failed", reason);
    }

    [LoggerMessage(EventId = (int)AuditEvent.TokenHandedOut, Level = LogLevel.Information, Message = "Audit: {Caller} {Action} provider={Provider} family={Family}: token handed out from {Source}.")]
    private static partial void LogTokenHandedOut(ILogger logger, string caller, string action, string provider, string family, string source);

    [LoggerMessage(EventId = (int)AuditEvent.FamilyRefreshed, Level = LogLevel.Information, Message = "Audit: {Caller} caused a refresh of provider={Provider} family={Family}.")]
    private static partial void LogRefreshed(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = (int)AuditEvent.AuthorizationClaimed, Level = LogLevel.Information, Message = "Audit: {Caller} completed an authorization for provider={Provider} family={Family}: the family holds its tokens.")]
    private static partial void LogAuthorizationClaimed(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = (int)AuditEvent.AuthorizationBegun, Level = LogLevel.Information, Message = "Audit: {Caller} began an authorization for provider={Provider} family={Family}.")]
    private static partial void LogAuthorizationBegun(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = (int)AuditEvent.AuthorizationCompleted, Level = LogLevel.Information, Message = "Audit: authorization callback for provider={Provider} family={Family}: {Outcome}.")]
    private static partial void LogAuthorizationCompleted(ILogger logger, string provider, string family, string outcome);

    [LoggerMessage(EventId = (int)AuditEvent.EventsWatched, Level = LogLevel.Information, Message = "Audit: {Caller} watched family events (stream ended).")]
    private static partial void LogEventsWatched(ILogger logger, string caller);

    [LoggerMessage(EventId = (int)AuditEvent.TokensImported, Level = LogLevel.Information, Message = "Audit: {Caller} imported tokens into provider={Provider} family={Family}.")]
    private static partial void LogTokensImported(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = (int)AuditEvent.FamilyRevoked, Level = LogLevel.Information, Message = "Audit: {Caller} revoked provider={Provider} family={Family}.")]
    private static partial void LogFamilyRevoked(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = (int)AuditEvent.FamilyDescribed, Level = LogLevel.Information, Message = "Audit: {Caller} described provider={Provider} family={Family}.")]
    private static partial void LogFamilyDescribed(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = (int)AuditEvent.Denied, Level = LogLevel.Warning, Message = "Audit: {Caller} denied {Action} provider={Provider} family={Family}: may not {Why}.")]
    private static partial void LogDenied(ILogger logger, string caller, string action, string provider, string family, string why);

    [LoggerMessage(EventId = (int)AuditEvent.Unauthenticated, Level = LogLevel.Warning, Message = "Audit: unauthenticated {Action} from {Peer}: {Failure}.")]
    private static partial void LogUnauthenticated(ILogger logger, string action, string peer, string failure);

    [LoggerMessage(EventId = (int)AuditEvent.Failed, Level = LogLevel.Information, Message = "Audit: {Caller} {Action} provider={Provider} family={Family} failed: {Reason}.")]
    private static partial void LogFailed(ILogger logger, string caller, string action, string provider, string family, string reason);
}
