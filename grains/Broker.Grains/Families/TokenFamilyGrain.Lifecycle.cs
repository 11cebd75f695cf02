using Broker.Abstractions.Grains;
using Broker.Abstractions.Tokens;
using Broker.Grains.Storage;
using static Broker.Grains.Families.FamilyEffect;

namespace Broker.Grains.Families;

/// <summary>The family's life outside refreshes: authorization, import, revocation, marks, key rotation, keep-alive.</summary>
public sealed partial class TokenFamilyGrain
{
    public Task StoreAuthorizedTokens(TokenSet tokens) =>
        Apply(() => new FamilyEvent.Authorized(_secrets.Seal(tokens), _secrets.FingerprintOfHeld(State)));

    public Task ImportTokens(TokenSet tokens) => Apply(() =>
    {
        var presented = tokens.RefreshToken;
        return new FamilyEvent.Imported(
            _secrets.Seal(tokens),
            _secrets.FingerprintOfHeld(State),
            PresentedWasSuperseded: presented is not null && _secrets.WasSuperseded(State, presented),
            PresentedIsHeld: presented is not null && _secrets.IsHeld(State, presented));
    });

    public Task Revoke() => Apply(() => new FamilyEvent.RevokeRequested(_secrets.FingerprintOfHeld(State)));

    public Task MarkReauthorizationRequired() => Apply(() => new FamilyEvent.Marked(FamilyStatusReason.MarkedByOperator));

    public async Task<ReencryptionOutcome> Reencrypt()
    {
        using (await _store.LockAsync())
        {
            if (State is { AccessToken: null, RefreshToken: null, IdToken: null }) return ReencryptionOutcome.Empty;
            if (!_secrets.NeedsReencryption(State)) return ReencryptionOutcome.Current;
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
            if (_refreshInFlight is { IsCompleted: false }) return;
            await (_refreshInFlight = RunInBackground(refresh.Cause));
            return;
        }
        await CarryOut(decision, due);
    }
}
