using Broker.Grains.Telemetry;

namespace Broker.Silo.Audit;

/// <summary>
/// Who did what to which family, with what outcome: one structured event per call under the category
/// <c>Broker.Audit</c> with stable event ids (6000-6099), and the counter <c>broker.audit.events</c>.
/// Families appear as their hashed log id; never a token, code or subject.
/// </summary>
public sealed partial class AuditLog(ILoggerFactory loggers, BrokerMetrics metrics)
{
    private readonly ILogger _logger = loggers.CreateLogger("Broker.Audit");

    public void TokenHandedOut(string caller, string action, string provider, string family, string source)
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

    public void AuthorizationBegun(string caller, string provider, string family)
    {
        LogAuthorizationBegun(_logger, caller, provider, family);
        metrics.AuditEvent("authorization_begun", "ok");
    }

    public void AuthorizationCompleted(string provider, string family, string outcome)
    {
        LogAuthorizationCompleted(_logger, provider, family, outcome);
        metrics.AuditEvent("authorization_completed", outcome);
    }

    public void TokensImported(string caller, string provider, string family)
    {
        LogTokensImported(_logger, caller, provider, family);
        metrics.AuditEvent("tokens_imported", "ok");
    }

    public void FamilyRevoked(string caller, string provider, string family)
    {
        LogFamilyRevoked(_logger, caller, provider, family);
        metrics.AuditEvent("family_revoked", "ok");
    }

    public void FamilyDescribed(string caller, string provider, string family)
    {
        LogFamilyDescribed(_logger, caller, provider, family);
        metrics.AuditEvent("family_described", "ok");
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

    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "Audit: {Caller} {Action} provider={Provider} family={Family}: token handed out from {Source}.")]
    private static partial void LogTokenHandedOut(ILogger logger, string caller, string action, string provider, string family, string source);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Audit: {Caller} caused a refresh of provider={Provider} family={Family}.")]
    private static partial void LogRefreshed(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Audit: {Caller} began an authorization for provider={Provider} family={Family}.")]
    private static partial void LogAuthorizationBegun(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Audit: authorization callback for provider={Provider} family={Family}: {Outcome}.")]
    private static partial void LogAuthorizationCompleted(ILogger logger, string provider, string family, string outcome);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Audit: {Caller} imported tokens into provider={Provider} family={Family}.")]
    private static partial void LogTokensImported(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "Audit: {Caller} revoked provider={Provider} family={Family}.")]
    private static partial void LogFamilyRevoked(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "Audit: {Caller} described provider={Provider} family={Family}.")]
    private static partial void LogFamilyDescribed(ILogger logger, string caller, string provider, string family);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "Audit: {Caller} denied {Action} provider={Provider} family={Family}: may not {Why}.")]
    private static partial void LogDenied(ILogger logger, string caller, string action, string provider, string family, string why);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "Audit: unauthenticated {Action} from {Peer}: {Failure}.")]
    private static partial void LogUnauthenticated(ILogger logger, string action, string peer, string failure);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Information, Message = "Audit: {Caller} {Action} provider={Provider} family={Family} failed: {Reason}.")]
    private static partial void LogFailed(ILogger logger, string caller, string action, string provider, string family, string reason);
}
