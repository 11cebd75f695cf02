using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Storage;
using Broker.Grains.Upstream;
using Broker.OAuth.Tokens;
using static Broker.Grains.Families.FamilyEffect;

namespace Broker.Grains.Families;

/// <summary>The family's life outside refreshes: authorizations, imports, revocations, marks and the keep-alive.</summary>
public static partial class TokenFamilyDecisions
{
    private static FamilyDecision OnImported(TokenFamilyState state, FamilyEvent.Imported imported, FamilyContext context)
    {
        // Importing what the family already holds changes nothing. Checked first: rows written before the current token
        // was kept out of the superseded list may still name it there, and that is not reuse.
        if (imported.PresentedIsHeld) return Keep(state);
        if (imported.PresentedWasSuperseded)
        {
            // Whoever holds a superseded refresh token can use the family (RFC 9700 §4.14.2): revoke what it holds
            // upstream, so the thief's copy dies with ours, and stop serving it.
            var forgotten = Forget(state, imported.ReplacedFingerprint, FamilyStatusReason.TokenReuseDetected, context,
                new Report(new FamilySignal.ReuseDetected()));
            return forgotten with
            {
                Effects = [.. forgotten.Effects, new Fail(new BrokerException(BrokerErrorReason.TokenReuseDetected,
                    "this refresh token was already rotated away by the broker: someone kept a copy. The family has been revoked; begin a new authorization."))],
            };
        }
        return Adopt(state, imported.Tokens, imported.ReplacedFingerprint, new FamilySignal.Imported(), context, imported.Owner);
    }

    /// <summary>
    /// A new authorization replaces the family's grant, unless another upstream account took it without the caller asking
    /// for that (identity pinning): then the offered grant is revoked and the family is untouched. The replaced grant is
    /// revoked once the new one is stored, where the provider keeps grants apart (RFC 7009).
    /// </summary>
    private static FamilyDecision OnAuthorized(TokenFamilyState state, FamilyEvent.Authorized authorized, FamilyContext context)
    {
        var holdsGrant = state.HasTokens && state.Status != FamilyStatus.Revoked;
        if (authorized.Account == AccountChange.Different && !authorized.ReplaceAccount && state.Status != FamilyStatus.Revoked)
        {
            return Keep(state, new RevokeUpstream(RevokedGrant.Offered), new Report(new FamilySignal.AccountRefused()),
                new Fail(FamilyErrors.AccountMismatch(context.Provider)));
        }
        var adopted = Adopt(state, authorized.Tokens, authorized.ReplacedFingerprint, new FamilySignal.Authorized(), context, authorized.Owner);
        var next = adopted.State with { AccountFingerprint = authorized.AccountFingerprint };
        var revokeReplaced = holdsGrant && !authorized.OfferedIsHeld
            && (authorized.Account == AccountChange.Different || context.Rules.RevokeReplacedGrant);
        if (!revokeReplaced) return adopted with { State = next };
        // After the persist: the family never holds neither grant.
        return new FamilyDecision(next, [.. adopted.Effects.Take(1), new RevokeUpstream(RevokedGrant.Replaced), .. adopted.Effects.Skip(1)]);
    }

    /// <summary>
    /// Tokens from outside a refresh (an authorization, an import) are a new grant: they replace the whole token set. A
    /// new grant without a refresh token leaves none, never the previous grant's, which may be another account's.
    /// </summary>
    private static FamilyDecision Adopt(TokenFamilyState state, SealedTokens tokens, string? replacedFingerprint, FamilySignal signal, FamilyContext context,
        string? owner)
    {
        // Re-consent keeps the family, owner included; a family that was never held, or was revoked, is the new grant's.
        var keepsOwner = state.Owner is not null && state.Status is FamilyStatus.Active or FamilyStatus.ReauthorizationRequired;
        var next = WithTokens(state, tokens, context.Now) with
        {
            Status = FamilyStatus.Active,
            StatusReason = FamilyStatusReason.None,
            Intent = null,
            RefreshToken = tokens.RefreshToken,
            RefreshTokenReceivedAt = tokens.RefreshToken is not null ? tokens.IssuedAtOr(context.Now) : null,
            IdToken = tokens.IdToken,
            Owner = keepsOwner ? state.Owner : owner,
        };
        // The grain names no replaced token when the new grant carries the one held: the current token is never superseded.
        if (replacedFingerprint is not null) next = Supersede(next, replacedFingerprint, context.Rules);
        return new FamilyDecision(next, [new Persist(WriteMode.Fenced), new ScheduleKeepAlive(), new Report(signal)]);
    }

    /// <summary>Revoke upstream what can be, then forget every token; the refresh token's fingerprint stays for reuse detection.</summary>
    private static FamilyDecision Forget(TokenFamilyState state, string? currentFingerprint, FamilyStatusReason reason, FamilyContext context, FamilyEffect first)
    {
        var next = state with
        {
            AccessToken = null,
            RefreshToken = null,
            IdToken = null,
            Intent = null,
            Status = FamilyStatus.Revoked,
            StatusReason = reason,
        };
        if (currentFingerprint is not null) next = Supersede(next, currentFingerprint, context.Rules);
        // Secrets that no longer decrypt cannot be revoked upstream; the family is still forgotten here.
        var revoke = state.HasTokens && state.StatusReason != FamilyStatusReason.StateUnreadable;
        return new FamilyDecision(next, revoke
            ? [first, new RevokeUpstream(), new Persist(WriteMode.Fenced), new CancelKeepAlive()]
            : [first, new Persist(WriteMode.Fenced), new CancelKeepAlive()]);
    }

    private static FamilyDecision OnMarked(TokenFamilyState state, FamilyEvent.Marked marked)
    {
        if (marked.Reason == FamilyStatusReason.StateUnreadable)
        {
            if (state.StatusReason == FamilyStatusReason.StateUnreadable) return Keep(state);
        }
        else if (state.Status == FamilyStatus.None)
        {
            return Keep(state);
        }
        var next = state with { Status = FamilyStatus.ReauthorizationRequired, StatusReason = marked.Reason };
        FamilySignal signal = marked.Reason == FamilyStatusReason.StateUnreadable
            ? new FamilySignal.StateUnreadable()
            : new FamilySignal.ReauthorizationRequired(marked.Reason);
        return new FamilyDecision(next, [new Report(signal), new Persist(WriteMode.OnStored)]);
    }

    /// <summary>Providers that revoke idle refresh tokens: refresh a family nobody used for the keep-alive interval.</summary>
    private static FamilyDecision OnKeepAliveDue(TokenFamilyState state, FamilyContext context)
    {
        if (context.Rules.KeepAliveInterval is not { } interval || state.Status != FamilyStatus.Active || state.RefreshToken is null)
            return Keep(state, new CancelKeepAlive());
        var lastUse = state.LastRefreshAt ?? state.RefreshTokenReceivedAt ?? DateTimeOffset.MinValue;
        return context.Now - lastUse < interval ? Keep(state) : Keep(state, new RefreshInBackground(RefreshCause.KeepAlive));
    }
}
