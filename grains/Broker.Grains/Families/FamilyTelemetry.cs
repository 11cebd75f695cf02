using System.Diagnostics;
using Broker.Abstractions.Tokens;
using Broker.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace Broker.Grains.Families;

/// <summary>Turns a family's signals into log lines, metrics and span tags: provider, hashed family and outcome, never a token.</summary>
public sealed partial class FamilyTelemetry(BrokerMetrics metrics, ILogger logger, string provider, string family)
{
    public void Served(TokenSource source)
    {
        var name = source == TokenSource.Cache ? "cache" : "refresh";
        Activity.Current?.SetTag("broker.token.source", name);
        metrics.TokenServed(provider, name);
    }

    public void Report(FamilySignal signal)
    {
        switch (signal)
        {
            case FamilySignal.Authorized:
                LogAuthorized(logger, family, provider);
                break;
            case FamilySignal.Imported:
                LogImported(logger, family, provider);
                break;
            case FamilySignal.Refreshed refreshed:
                Activity.Current?.SetTag("broker.refresh.outcome", FamilyWireNames.Of(refreshed.Outcome));
                break;
            case FamilySignal.ReauthorizationRequired required:
                metrics.ReauthorizationRequired(provider, FamilyWireNames.Of(required.Reason)!);
                break;
            case FamilySignal.PossibleTheft:
                LogRefreshTokenRejected(logger, family, provider);
                break;
            case FamilySignal.OutcomeUnknown unknown:
                Activity.Current?.SetTag("broker.refresh.outcome", FamilyWireNames.Of(RefreshOutcome.OutcomeUnknown));
                LogOutcomeUnknown(logger, family, provider, unknown.Why);
                break;
            case FamilySignal.ReplayWithinLeeway:
                LogReplayWithinLeeway(logger, family);
                break;
            case FamilySignal.ReuseDetected:
                metrics.ReuseDetected(provider);
                LogReuseDetected(logger, family, provider);
                break;
            case FamilySignal.Revoked:
                break; // logged with the upstream answer by the grain
            case FamilySignal.StateUnreadable:
                metrics.StateUnreadable("family");
                LogStateUnreadable(logger, family, provider);
                break;
        }
    }

    public void Revoked(bool confirmed) => LogRevoked(logger, family, provider, confirmed);

    public void BackgroundRefreshFailed(RefreshCause cause, string reason) => LogBackgroundRefreshFailed(logger, family, cause.ToString(), reason);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Critical, Message = "SECURITY: family {Family} at {Provider}: stored secrets failed to decrypt (altered, or moved from another record). The family is marked reauthorization_required/state_unreadable; its stored ciphertext is kept.")]
    private static partial void LogStateUnreadable(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Family {Family} at {Provider} stored tokens from an authorization.")]
    private static partial void LogAuthorized(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "SECURITY: family {Family} at {Provider}: the provider rejected a refresh token the broker had never sent before (invalid_grant); someone else may have used it.")]
    private static partial void LogRefreshTokenRejected(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Family {Family} at {Provider}: refresh outcome unknown ({Why}); reauthorization required.")]
    private static partial void LogOutcomeUnknown(ILogger logger, string family, string provider, string why);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Family {Family} at {Provider} revoked (upstream confirmed: {Confirmed}).")]
    private static partial void LogRevoked(ILogger logger, string family, string provider, bool confirmed);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Family {Family}: refresh answer lost; retrying within the provider's reuse leeway.")]
    private static partial void LogReplayWithinLeeway(ILogger logger, string family);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Family {Family} at {Provider} imported tokens.")]
    private static partial void LogImported(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Family {Family}: background refresh ({Cause}) failed: {Reason}.")]
    private static partial void LogBackgroundRefreshFailed(ILogger logger, string family, string cause, string reason);

    [LoggerMessage(EventId = 2100, Level = LogLevel.Critical, Message = "SECURITY: family {Family} at {Provider}: a refresh token the broker had already rotated away was presented; the family is revoked upstream and locally.")]
    private static partial void LogReuseDetected(ILogger logger, string family, string provider);
}
