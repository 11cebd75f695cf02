using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Storage;

namespace Broker.Grains.Families;

/// <summary>What the grain must do after a decision, in order. A new feature is a new effect, not a branch in the grain.</summary>
public abstract record FamilyEffect
{
    private FamilyEffect() { }

    /// <summary>Hand the held access token to the caller.</summary>
    public sealed record Serve(TokenSource Source) : FamilyEffect;

    /// <summary>Join the refresh in flight in this activation, or start one, and wait for it.</summary>
    public sealed record Refresh(RefreshCause Cause) : FamilyEffect;

    /// <summary>Start a refresh nobody waits on, unless one is in flight.</summary>
    public sealed record RefreshInBackground(RefreshCause Cause) : FamilyEffect;

    /// <summary>Another activation holds a fresh intent: wait, re-read the stored state, and take the turn again.</summary>
    public sealed record WaitForOtherActivation(TimeSpan Delay) : FamilyEffect;

    /// <summary>Take a token from the client's budget, write the new state (it holds the intent) with the compare-and-set, then send.</summary>
    public sealed record ClaimAndSend(bool Replay) : FamilyEffect;

    /// <summary>The answer was lost inside the provider's reuse leeway: send the same refresh token once more.</summary>
    public sealed record Resend : FamilyEffect;

    /// <summary>Write the decided state.</summary>
    public sealed record Persist(WriteMode Mode) : FamilyEffect;

    /// <summary>Revoke a grant's tokens at the provider (RFC 7009): the held one before it is forgotten, the one just replaced, or one refused.</summary>
    public sealed record RevokeUpstream(RevokedGrant Grant = RevokedGrant.Held) : FamilyEffect;

    public sealed record ScheduleKeepAlive : FamilyEffect;
    public sealed record CancelKeepAlive : FamilyEffect;

    /// <summary>Something worth a log line and a metric.</summary>
    public sealed record Report(FamilySignal Signal) : FamilyEffect;

    /// <summary>Append these events to the outbox (after the state that makes them true is stored).</summary>
    public sealed record Notify(IReadOnlyList<FamilyNotice> Notices) : FamilyEffect;

    /// <summary>Answer the caller with this error (after the effects before it).</summary>
    public sealed record Fail(BrokerException Error) : FamilyEffect;
}

/// <summary>Which tokens <see cref="FamilyEffect.RevokeUpstream"/> revokes.</summary>
public enum RevokedGrant
{
    /// <summary>The state's tokens when the effect runs.</summary>
    Held,
    /// <summary>The tokens the family held before this decision.</summary>
    Replaced,
    /// <summary>The tokens the event offered, which the family refused.</summary>
    Offered,
}

/// <summary>Facts for logs and metrics. Never a token.</summary>
public abstract record FamilySignal
{
    private FamilySignal() { }

    public sealed record Authorized : FamilySignal;
    /// <summary>An authorization by another upstream account than the family's, not asked for: refused.</summary>
    public sealed record AccountRefused : FamilySignal;
    public sealed record Imported : FamilySignal;
    public sealed record Refreshed(RefreshOutcome Outcome) : FamilySignal;
    public sealed record ReauthorizationRequired(FamilyStatusReason Reason) : FamilySignal;
    /// <summary>invalid_grant for a refresh token the broker never sent before (RFC 9700 §4.14.2).</summary>
    public sealed record PossibleTheft : FamilySignal;
    public sealed record OutcomeUnknown(string Why) : FamilySignal;
    public sealed record ReplayWithinLeeway : FamilySignal;
    public sealed record ReuseDetected : FamilySignal;
    public sealed record Revoked : FamilySignal;
    public sealed record StateUnreadable : FamilySignal;
}
