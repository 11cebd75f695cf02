using Broker.Abstractions.Grains;
using Broker.Abstractions.Tokens;
using Broker.Grains.Storage;
using static Broker.Grains.Families.FamilyEffect;

namespace Broker.Grains.Families;

/// <summary>The family's life outside refreshes: authorization, import, revocation, marks, key rotation, keep-alive.</summary>
public sealed partial class TokenFamilyGrain
{
    public Task StoreAuthorizedTokens(TokenSet tokens, UpstreamAccount? account, bool replaceAccount) => Apply(() =>
        new FamilyEvent.Authorized(
            _secrets.Seal(tokens),
            ReplacedFingerprint(tokens),
            _secrets.CompareAccount(State, account),
            account is null ? null : _secrets.Fingerprint(account.Canonical),
            replaceAccount,
            OfferedIsHeld: tokens.RefreshToken is not null && _secrets.IsHeld(State, tokens.RefreshToken),
            Owner: CallerRequestContext.Current));

    public Task ImportTokens(TokenSet tokens) => Apply(() =>
    {
        var presented = tokens.RefreshToken;
        return new FamilyEvent.Imported(
            _secrets.Seal(tokens),
            ReplacedFingerprint(tokens),
            PresentedWasSuperseded: presented is not null && _secrets.WasSuperseded(State, presented),
            PresentedIsHeld: presented is not null && _secrets.IsHeld(State, presented),
            Owner: CallerRequestContext.Current);
    });

    /// <summary>The held refresh token the new grant replaces; none when the new grant carries that same token.</summary>
    private string? ReplacedFingerprint(TokenSet tokens) =>
        tokens.RefreshToken is { } incoming && _secrets.IsHeld(State, incoming) ? null : _secrets.FingerprintOfHeld(State);

    public Task Revoke() => Apply(() => new FamilyEvent.RevokeRequested(_secrets.FingerprintOfHeld(State)));

    public Task MarkReauthorizationRequired() => Apply(() => new FamilyEvent.Marked(FamilyStatusReason.MarkedByOperator));

    /// <summary>
    /// The row is not what this broker wrote (altered, moved from another family, put back): mark the family and keep
    /// what the row says, for investigation. Nothing is sent upstream; a new authorization repairs it.
    /// </summary>
    private async Task MarkUnreadable()
    {
        await Apply(() => new FamilyEvent.Marked(FamilyStatusReason.StateUnreadable));
        _store.Accept();
    }

    public async Task<ReencryptionOutcome> Reencrypt()
    {
        if (_store.Refusal is { } refused)
        {
            if (!FamilySecrets.IsTampering(refused)) throw refused;
            await MarkUnreadable();
            return ReencryptionOutcome.Unreadable;
        }
        using (await _store.LockAsync())
        {
            // The row's seal moves to the primary key too, tokens or not, so old keys can go.
            var reseal = ledger.NeedsResealing(this.GetGrainId(), protector.PrimaryKeyId);
            if (State is { AccessToken: null, RefreshToken: null, IdToken: null, DpopKey: null } && !reseal) return ReencryptionOutcome.Empty;
            if (!_secrets.NeedsReencryption(State) && !reseal) return ReencryptionOutcome.Current;
            try
            {
                await _store.WriteAsync(_secrets.Resealed(State), WriteMode.OnStored, _secrets.Resealed);
                return ReencryptionOutcome.Reencrypted;
            }
            catch (Abstractions.BrokerException ex) when (FamilySecrets.IsTampering(ex))
            {
                var unreadable = new FamilyEvent.Marked(FamilyStatusReason.StateUnreadable);
                await CarryOut(Decide(unreadable), unreadable);
                return ReencryptionOutcome.Unreadable;
            }
        }
    }

    public async Task<FamilyDescription> Describe()
    {
        var state = State;
        var throttledUntil = providers.TryGet(_key.Provider, out var provider) ? await upstream.BlockedUntilAsync(provider) : null;
        var (status, reason) = TokenFamilyDecisions.Standing(state, time.GetUtcNow());
        return new FamilyDescription(_key, status, state.Scopes, state.AccessToken is null ? null : state.AccessTokenExpiresAt,
            state.RefreshToken is not null, state.RefreshCount, state.LastRefreshAt, state.LastRefreshOutcome, reason, throttledUntil);
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != KeepAliveReminder) return;
        var due = new FamilyEvent.KeepAliveDue();
        var decision = Decide(due);
        if (decision.Find<RefreshInBackground>() is { } refresh)
        {
            // A refresh already running keeps the family alive: the tick ends with it (its failure is its caller's).
            if (_refreshInFlight is { IsCompleted: false } running)
            {
                await running.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
                return;
            }
            await (_refreshInFlight = RunInBackground(refresh.Cause));
            return;
        }
        await CarryOut(decision, due);
    }
}
