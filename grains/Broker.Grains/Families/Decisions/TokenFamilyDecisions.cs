using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.Grains.Storage;
using Broker.Grains.Upstream;
using Broker.OAuth.Dpop;
using Broker.OAuth.Tokens;
using static Broker.Grains.Families.FamilyEffect;

namespace Broker.Grains.Families;

/// <summary>
/// The rules of a token family as one pure function: (state, event, context) -> (state, effects). No I/O, no
/// Orleans, no clock of its own: the grain feeds it events and carries out the effects. See docs/architecture.md.
/// </summary>
public static partial class TokenFamilyDecisions
{
    // A cache hit is the hot path: its answers are shared instances, not allocated per call.
    private static readonly FamilyEffect[] ServeCached = [new Serve(TokenSource.Cache)];
    private static readonly FamilyEffect[] ServeCachedAndRefreshAhead = [new Serve(TokenSource.Cache), new RefreshInBackground(RefreshCause.Ahead)];

    public static FamilyDecision Decide(TokenFamilyState state, FamilyEvent e, FamilyContext context) =>
        FamilyNotifications.Attach(state, e, DecideRules(state, e, context), context);

    private static FamilyDecision DecideRules(TokenFamilyState state, FamilyEvent e, FamilyContext context) => e switch
    {
        FamilyEvent.Asked asked => OnAsked(state, asked, context),
        FamilyEvent.RefreshSettled settled => OnSettled(state, settled, context),
        FamilyEvent.RefreshTurn turn => OnTurn(state, turn, context),
        FamilyEvent.Refreshed refreshed => OnRefreshed(state, refreshed, context),
        FamilyEvent.RefreshFailed failed => OnRefreshFailed(state, failed, context),
        FamilyEvent.Authorized authorized => OnAuthorized(state, authorized, context),
        FamilyEvent.Imported imported => OnImported(state, imported, context),
        FamilyEvent.RevokeRequested revoke => Forget(state, revoke.CurrentFingerprint, FamilyStatusReason.Revoked, context,
            new Report(new FamilySignal.Revoked())),
        FamilyEvent.Marked marked => OnMarked(state, marked),
        FamilyEvent.KeepAliveDue => OnKeepAliveDue(state, context),
        FamilyEvent.DpopKeyMade made => OnDpopKeyMade(state, made),
        _ => throw new ArgumentOutOfRangeException(nameof(e), e, null),
    };

    /// <summary>
    /// A family has one DPoP key for its whole life: tokens bound to it stay usable, and a key already stored (by this or
    /// another activation) is never replaced. Written on what is stored, so the first key written wins.
    /// </summary>
    private static FamilyDecision OnDpopKeyMade(TokenFamilyState state, FamilyEvent.DpopKeyMade made) =>
        state.DpopKey is not null
            ? Keep(state)
            : new FamilyDecision(state with { DpopKey = made.Key, DpopThumbprint = made.Thumbprint }, [new Persist(WriteMode.OnStored)]);

    /// <summary>
    /// How the family reads from outside (DescribeFamily): one without a refresh token says so, and once its access
    /// token has expired it needs a new authorization, as GetAccessToken already answers.
    /// </summary>
    public static (FamilyStatus Status, FamilyStatusReason Reason) Standing(TokenFamilyState state, DateTimeOffset now) =>
        state is { Status: FamilyStatus.Active, RefreshToken: null }
            ? (state.AccessToken is null || now >= state.AccessTokenExpiresAt ? FamilyStatus.ReauthorizationRequired : FamilyStatus.Active,
                FamilyStatusReason.NoRefreshToken)
            : (state.Status, state.StatusReason);

    /// <summary>
    /// The held access token may be handed out: valid for the caller's buffer, and the family not stopped by an
    /// operator, revoked, or found altered in storage. A family whose refresh failed keeps serving its still-valid token.
    /// </summary>
    public static bool CanServe(TokenFamilyState state, DateTimeOffset now, TimeSpan minTimeToLive) =>
        state.AccessToken is not null
        && state.Status != FamilyStatus.Revoked
        && state.StatusReason is not (FamilyStatusReason.MarkedByOperator or FamilyStatusReason.StateUnreadable)
        && TokenLifetime.IsFreshEnough(state.AccessTokenIssuedAt, state.AccessTokenExpiresAt, now, minTimeToLive);

    private static FamilyDecision OnAsked(TokenFamilyState state, FamilyEvent.Asked asked, FamilyContext context)
    {
        var now = context.Now;
        if (!asked.Force && CanServe(state, now, asked.MinTimeToLive))
        {
            return RefreshAheadDue(state, context)
                ? Keep(state, ServeCachedAndRefreshAhead)
                : Keep(state, ServeCached);
        }
        // Nothing to refresh with: a forced refresh says so instead of quietly answering from the cache.
        if (asked.Force && state.Status == FamilyStatus.Active && state.RefreshToken is null)
            return Keep(state, new Fail(FamilyErrors.NoRefreshToken()));
        // A forced refresh right after a refresh would only spend a refresh token: hand out the new token.
        if (asked.Force && state.LastRefreshAt is { } last && now - last < context.Rules.MinForcedRefreshInterval && CanServe(state, now, TimeSpan.Zero))
            return Keep(state, ServeCached);
        return Keep(state, new Refresh(asked.Force ? RefreshCause.Forced : RefreshCause.Expiring));
    }

    /// <summary>After a refresh: whatever token is still valid is the answer (a failed refresh already failed its caller).</summary>
    private static FamilyDecision OnSettled(TokenFamilyState state, FamilyEvent.RefreshSettled settled, FamilyContext context) =>
        CanServe(state, context.Now, TimeSpan.Zero)
            ? Keep(state, new Serve(state.Generation != settled.GenerationBefore ? TokenSource.Refresh : TokenSource.Cache))
            : Keep(state, new Fail(FamilyErrors.NotServable(state, context.Provider)));

    /// <summary>Refresh-ahead: a family in use nears its callers' buffer, so start before they have to wait.</summary>
    private static bool RefreshAheadDue(TokenFamilyState state, FamilyContext context)
    {
        var rules = context.Rules;
        if (!rules.RefreshAhead || state.Status != FamilyStatus.Active || state.RefreshToken is null) return false;
        var lifetime = state.AccessTokenExpiresAt - state.AccessTokenIssuedAt;
        var buffer = rules.ExpiryBuffer < lifetime / 2 ? rules.ExpiryBuffer : lifetime / 2;
        var threshold = buffer + lifetime * rules.RefreshAheadSpread;
        return state.AccessTokenExpiresAt - context.Now <= threshold;
    }

    /// <summary>The fenced refresh, step 1: see docs/architecture.md.</summary>
    private static FamilyDecision OnTurn(TokenFamilyState state, FamilyEvent.RefreshTurn turn, FamilyContext context)
    {
        var now = context.Now;
        // Another activation refreshed while this one waited: its token is the answer.
        if (state.Generation != turn.GenerationAtStart && CanServe(state, now, TimeSpan.Zero)) return Keep(state);
        if (state.Status != FamilyStatus.Active || state.RefreshToken is null) return Keep(state); // explained by RefreshSettled

        var replay = false;
        if (state.Intent is { } intent && intent.Owner != context.Activation)
        {
            var age = now - intent.StartedAt;
            if (age < context.Rules.RefreshLease) return Keep(state, new WaitForOtherActivation(context.Rules.IntentPollInterval));
            // Its holder died mid-refresh: the server may or may not have rotated the token.
            if (context.Rules.ReuseLeeway <= TimeSpan.Zero)
                return OutcomeUnknown(state, "an earlier refresh was interrupted and the provider allows no reuse of its refresh token", context);
            if (!context.Rules.CanReplay(intent.StartedAt, now))
                return OutcomeUnknown(state, "an earlier refresh was interrupted and a replay could no longer arrive inside the provider's reuse leeway",
                    context, FamilyStatusReason.ReplayOutsideLeeway);
            replay = true;
        }
        var claimed = state with { Intent = new RefreshIntent(context.Activation, state.Generation + 1, replay ? state.Intent!.StartedAt : now) };
        return new FamilyDecision(claimed, [new ClaimAndSend(replay)]);
    }

    private static FamilyDecision OnRefreshed(TokenFamilyState state, FamilyEvent.Refreshed refreshed, FamilyContext context)
    {
        var next = WithTokens(state, refreshed.Tokens, context.Now);
        // A provider that answers with the same refresh token did not rotate it: the current token is never superseded.
        if (refreshed.Tokens.RefreshToken is not null && !refreshed.RefreshTokenKept)
            next = Supersede(next, refreshed.SpentFingerprint, context.Rules);
        next = next with
        {
            Intent = null,
            RefreshCount = state.RefreshCount + 1,
            LastRefreshAt = context.Now,
            LastRefreshOutcome = RefreshOutcome.Issued,
        };
        return new FamilyDecision(next, [new Persist(WriteMode.Durable), new Report(new FamilySignal.Refreshed(RefreshOutcome.Issued))]);
    }

    private static FamilyDecision OnRefreshFailed(TokenFamilyState state, FamilyEvent.RefreshFailed failed, FamilyContext context)
    {
        switch (failed.Outcome)
        {
            case TokenEndpointOutcome.Rejected { Error: "invalid_grant" }:
                return GrantRefused(state, RejectionReason(state, failed.Replayed, context), RefreshOutcome.InvalidGrant, 0, context);

            case TokenEndpointOutcome.Rejected { Error: DpopUse.NotBoundError }:
                // Tokens were issued (the old refresh token is spent), but as bearer tokens, which Required refuses.
                return GrantRefused(state, FamilyStatusReason.DpopNotBound, RefreshOutcome.Rejected, 0, context, theft: false);

            case TokenEndpointOutcome.Refused { HttpStatus: 401 }:
                // RFC 6749 §5.2: 401 is the client's authentication failing, not the grant: fix the client, keep the family.
                return Cleared(state, RefreshOutcome.Refused, new BrokerException(BrokerErrorReason.ProviderRejected,
                    "the provider refused the broker's client authentication (HTTP 401, without an OAuth error).") { Detail = "http_401" });

            case TokenEndpointOutcome.Refused bare:
                // No error code to read, but the server answered: the grant is refused as surely as with invalid_grant.
                var why = RejectionReason(state, failed.Replayed, context);
                var theft = why == FamilyStatusReason.InvalidGrantPossibleTheft;
                return GrantRefused(state, FamilyStatusReason.RefusedWithoutError, RefreshOutcome.Refused, bare.HttpStatus, context, theft);

            case TokenEndpointOutcome.Rejected rejected:
                return Cleared(state, RefreshOutcome.Rejected, new BrokerException(BrokerErrorReason.ProviderRejected,
                    $"the provider rejected the refresh request with '{rejected.Error}'.") { Detail = rejected.Error });

            case TokenEndpointOutcome.Throttled throttled:
                // The client's back-off was already recorded by the one upstream path (UpstreamTokenRequests).
                return Cleared(state, RefreshOutcome.Throttled, UpstreamTokenRequests.Throttled(throttled));

            case TokenEndpointOutcome.NotSent notSent:
                return Cleared(state, RefreshOutcome.NotSent, new BrokerException(BrokerErrorReason.ProviderUnavailable,
                    $"the provider could not be reached: {notSent.Why}", TimeSpan.FromSeconds(5)));

            case TokenEndpointOutcome.OutcomeUnknown unknown:
                // Within the provider's reuse leeway a lost answer may be retried once with the same token, if the retry
                // can arrive inside it: one that reaches the server after the leeway revokes the grant.
                if (!failed.Replayed && state.Intent is { } intent && context.Rules.ReuseLeeway > TimeSpan.Zero)
                {
                    return context.Rules.CanReplay(intent.StartedAt, context.Now)
                        ? Keep(state, new Report(new FamilySignal.ReplayWithinLeeway()), new Resend())
                        : OutcomeUnknown(state, $"{unknown.Why} A replay could no longer arrive inside the provider's reuse leeway.", context,
                            FamilyStatusReason.ReplayOutsideLeeway);
                }
                return OutcomeUnknown(state, unknown.Why, context);

            default:
                throw new ArgumentOutOfRangeException(nameof(failed), failed.Outcome, "a refresh that issued tokens is Refreshed");
        }
    }

    /// <summary>The provider will not take this refresh token again: stop, and report a possible theft when it was never sent before.</summary>
    private static FamilyDecision GrantRefused(TokenFamilyState state, FamilyStatusReason reason, RefreshOutcome outcome, int httpStatus,
        FamilyContext context, bool? theft = null)
    {
        var refused = state with
        {
            Status = FamilyStatus.ReauthorizationRequired,
            StatusReason = reason,
            Intent = null,
            LastRefreshOutcome = outcome,
            RefusalHttpStatus = httpStatus,
        };
        List<FamilyEffect> effects = [new Report(new FamilySignal.ReauthorizationRequired(reason))];
        // Never sent before, not expired: someone else redeemed it (RFC 9700 §4.14.2). A human must look.
        if (theft ?? reason == FamilyStatusReason.InvalidGrantPossibleTheft) effects.Add(new Report(new FamilySignal.PossibleTheft()));
        effects.Add(new Persist(WriteMode.Fenced));
        effects.Add(new Fail(FamilyErrors.NotServable(refused, context.Provider)));
        return new FamilyDecision(refused, effects);
    }

    /// <summary>Nothing changed at the provider: drop the intent, record why, and fail the caller.</summary>
    private static FamilyDecision Cleared(TokenFamilyState state, RefreshOutcome outcome, BrokerException error) =>
        new(state with { Intent = null, LastRefreshOutcome = outcome },
            [new Report(new FamilySignal.Refreshed(outcome)), new Persist(WriteMode.Fenced), new Fail(error)]);

    /// <summary>
    /// A refresh whose answer was lost may have rotated the token at the server; sending the old one again would
    /// look like theft and revoke the family. Stop, keep any still-valid access token, and fail this refresh.
    /// </summary>
    private static FamilyDecision OutcomeUnknown(TokenFamilyState state, string why, FamilyContext context,
        FamilyStatusReason reason = FamilyStatusReason.RefreshOutcomeUnknown)
    {
        var stopped = state with
        {
            Status = FamilyStatus.ReauthorizationRequired,
            StatusReason = reason,
            LastRefreshOutcome = RefreshOutcome.OutcomeUnknown,
            Intent = null,
        };
        return new FamilyDecision(stopped,
        [
            new Report(new FamilySignal.OutcomeUnknown(why)),
            new Report(new FamilySignal.ReauthorizationRequired(reason)),
            new Persist(WriteMode.Fenced),
            new Fail(FamilyErrors.NotServable(stopped, context.Provider)),
        ]);
    }

    /// <summary>Why the provider refused a refresh token, as far as the broker can tell.</summary>
    private static FamilyStatusReason RejectionReason(TokenFamilyState state, bool replayed, FamilyContext context)
    {
        if (replayed) return FamilyStatusReason.InvalidGrantAfterReplay;
        if (context.Rules.RefreshTokenLifetime is { } lifetime && state.RefreshTokenReceivedAt is { } received && context.Now - received >= lifetime)
            return FamilyStatusReason.RefreshTokenExpired;
        return FamilyStatusReason.InvalidGrantPossibleTheft;
    }

    private static TokenFamilyState WithTokens(TokenFamilyState state, SealedTokens tokens, DateTimeOffset now) => state with
    {
        Generation = state.Generation + 1,
        AccessToken = tokens.AccessToken,
        TokenType = tokens.TokenType,
        AccessTokenIssuedAt = tokens.IssuedAtOr(now),
        AccessTokenExpiresAt = tokens.ExpiresAt,
        Scopes = tokens.Scopes,
        // RFC 6749 §6: a refresh response without a refresh token leaves the old one in force (a new grant does not: Adopt).
        RefreshToken = tokens.RefreshToken ?? state.RefreshToken,
        RefreshTokenReceivedAt = tokens.RefreshToken is not null ? tokens.IssuedAtOr(now) : state.RefreshTokenReceivedAt,
        IdToken = tokens.IdToken ?? state.IdToken,
    };

    private static TokenFamilyState Supersede(TokenFamilyState state, string fingerprint, FamilyRules rules)
    {
        var history = state.SupersededRefreshTokens.Append(fingerprint).ToList();
        var excess = history.Count - rules.SupersededTokenHistory;
        return state with { SupersededRefreshTokens = excess > 0 ? history[excess..] : history };
    }

    private static FamilyDecision Keep(TokenFamilyState state, params FamilyEffect[] effects) => new(state, effects);
}
