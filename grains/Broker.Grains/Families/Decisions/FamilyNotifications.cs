using Broker.Abstractions.Events;
using Broker.Abstractions.Tokens;
using static Broker.Grains.Families.FamilyEffect;

namespace Broker.Grains.Families;

/// <summary>One event a decision emits: its type, the reason, and how many transitions flapping control left out before it.</summary>
public sealed record FamilyNotice(BrokerEventType Type, FamilyStatusReason Reason, int Suppressed = 0);

/// <summary>
/// Which change of a family is which event: the one rule, from (state before, state decided, event), with flapping
/// control. Pure: <see cref="TokenFamilyDecisions.Decide"/> attaches its answer as a <see cref="Notify"/> after the
/// write that makes the events true.
/// </summary>
public static class FamilyNotifications
{
    public static FamilyDecision Attach(TokenFamilyState before, FamilyEvent e, FamilyDecision decision, FamilyContext context)
    {
        // Cache hits and waits keep the very same state: the hot path allocates nothing here.
        if (ReferenceEquals(before, decision.State)) return decision;
        if (Transition(before, decision.State, e, context.Rules) is not { } notice) return decision;

        var (state, emitted) = Flapping(decision.State, notice, context);
        if (emitted is null) return decision with { State = state };
        // Last, after the write that makes it true and whatever else the decision does, but before the caller is failed.
        var effects = decision.Effects.ToList();
        var fail = effects.FindIndex(x => x is Fail);
        effects.Insert(fail >= 0 ? fail : effects.Count, new Notify([emitted]));
        return new FamilyDecision(state, effects);
    }

    /// <summary>The event a change is, if any.</summary>
    private static FamilyNotice? Transition(TokenFamilyState before, TokenFamilyState after, FamilyEvent e, FamilyRules rules)
    {
        if (e is FamilyEvent.Authorized or FamilyEvent.Imported && after.Status == FamilyStatus.Active)
        {
            return new FamilyNotice(before.Status == FamilyStatus.ReauthorizationRequired
                ? BrokerEventType.FamilyRecovered
                : BrokerEventType.FamilyAuthorized, FamilyStatusReason.None);
        }
        var changed = after.Status != before.Status || after.StatusReason != before.StatusReason;
        if (changed && after.Status == FamilyStatus.ReauthorizationRequired)
        {
            return new FamilyNotice(after.StatusReason == FamilyStatusReason.StateUnreadable
                ? BrokerEventType.FamilyStateUnreadable
                : BrokerEventType.FamilyReauthorizationRequired, after.StatusReason);
        }
        if (changed && after.Status == FamilyStatus.Revoked)
        {
            return new FamilyNotice(after.StatusReason == FamilyStatusReason.TokenReuseDetected
                ? BrokerEventType.FamilyReuseDetected
                : BrokerEventType.FamilyRevoked, after.StatusReason);
        }
        if (e is FamilyEvent.Refreshed && rules.NoticeRefreshes) return new FamilyNotice(BrokerEventType.FamilyRefreshed, FamilyStatusReason.None);
        return null;
    }

    /// <summary>
    /// A provider that fails and recovers repeatedly would send a storm: one failure and one recovery per window are
    /// emitted, the rest counted and reported on the next event emitted. Other events always go out.
    /// </summary>
    private static (TokenFamilyState State, FamilyNotice? Emitted) Flapping(TokenFamilyState state, FamilyNotice notice, FamilyContext context)
    {
        var now = context.Now;
        var window = context.Rules.NoticeWindow;
        switch (notice.Type)
        {
            case BrokerEventType.FamilyReauthorizationRequired:
                if (Within(state.LastFailureNoticeAt, now, window)) return (state with { SuppressedNotices = state.SuppressedNotices + 1 }, null);
                return (state with { LastFailureNoticeAt = now, SuppressedNotices = 0 }, notice with { Suppressed = state.SuppressedNotices });
            case BrokerEventType.FamilyRecovered:
                if (Within(state.LastRecoveryNoticeAt, now, window)) return (state with { SuppressedNotices = state.SuppressedNotices + 1 }, null);
                return (state with { LastRecoveryNoticeAt = now, SuppressedNotices = 0 }, notice with { Suppressed = state.SuppressedNotices });
            default:
                return (state with { SuppressedNotices = 0 }, notice with { Suppressed = state.SuppressedNotices });
        }
    }

    private static bool Within(DateTimeOffset? last, DateTimeOffset now, TimeSpan window) =>
        window > TimeSpan.Zero && last is { } at && now - at < window;
}
