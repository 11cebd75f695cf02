using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Protection;
using Broker.Grains.Storage;
using Broker.Grains.Upstream;
using Broker.OAuth.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;

namespace Broker.Grains.Authorizations;

/// <summary>
/// A redeemed authorization waiting for its claim. The whole of it (tokens, family, caller, account) is stored as one
/// sealed value bound to this grain, so no field can be read or changed in the database. Discarded, and its grant
/// revoked upstream (RFC 7009), when claimed by the wrong caller or for the wrong subject, or not claimed in time.
/// </summary>
public sealed partial class AuthorizationCompletionGrain(
    [PersistentState("authorization-completion", BrokerStorage.Name)] IPersistentState<AuthorizationCompletionState> stored,
    Serializer serializer,
    SecretProtector protector,
    ProviderRegistry providers,
    UpstreamTokenRequests upstream,
    StoredStateLedger ledger,
    TimeProvider time,
    IOptions<ReminderOptions> reminders,
    ILogger<AuthorizationCompletionGrain> logger) : Grain, IAuthorizationCompletionGrain, IRemindable
{
    private const string ExpiryReminder = "completion-expiry";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A row that fails authentication holds no authorization anyone may claim.
        if (ledger.TakeRefusal(this.GetGrainId()) is not null) stored.State = new AuthorizationCompletionState();
        return Task.CompletedTask;
    }

    public async Task Hold(HeldAuthorization held)
    {
        if (stored.RecordExists) throw new BrokerException(BrokerErrorReason.InvalidState, "this completion is already in use.");
        var serialized = Convert.ToBase64String(serializer.SerializeToArray(held));
        stored.State = new AuthorizationCompletionState { Sealed = protector.Protect(serialized, Context), ExpiresAt = held.ExpiresAt };
        await stored.WriteStateAsync();

        // The reminder outlives this activation and its silo; the timer discards on time while the activation lives.
        var due = held.ExpiresAt - time.GetUtcNow();
        if (due < TimeSpan.Zero) due = TimeSpan.Zero;
        await this.RegisterOrUpdateReminderAtLeast(ExpiryReminder, due, ReminderPeriod, reminders.Value);
        this.RegisterGrainTimer(_ => DiscardIfExpiredAsync(), due + TimeSpan.FromMilliseconds(100), Timeout.InfiniteTimeSpan);
    }

    public async Task<AuthorizationCompleted> Claim(FamilyKey family, string caller)
    {
        if (Open() is not { } held)
            throw new BrokerException(BrokerErrorReason.InvalidState, "the completion is unknown, already used, or expired.");
        if (time.GetUtcNow() >= held.ExpiresAt)
        {
            await DiscardAsync(held);
            throw new BrokerException(BrokerErrorReason.InvalidState, "the completion has expired: begin a new authorization.");
        }
        if (held.Family != family || !string.Equals(held.Caller, caller, StringComparison.Ordinal))
        {
            // The browser that brought the handle belongs to another user (or another service's flow): nobody may
            // claim this grant any more, so it is revoked rather than left alive at the provider.
            LogMismatch(logger, family.Provider.Value, caller);
            await DiscardAsync(held);
            throw new BrokerException(BrokerErrorReason.PermissionDenied,
                $"caller '{caller}' may not complete this authorization: it was begun for another subject or by another caller, and is discarded.")
                { Detail = "complete an authorization begun for another subject" };
        }

        try
        {
            CallerRequestContext.Set(held.Caller); // the family's owner, should it be new
            await GrainFactory.GetGrain<ITokenFamilyGrain>(family.ToGrainKey()).StoreAuthorizedTokens(held.Tokens, held.Account, held.ReplaceAccount);
        }
        catch (BrokerException ex) when (ex.Reason == BrokerErrorReason.AccountMismatch)
        {
            await ForgetAsync(); // the family revoked the refused grant itself
            throw;
        }
        await ForgetAsync();
        return new AuthorizationCompleted(family, held.Tokens.Scopes, held.Tokens.RefreshToken is not null);
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ExpiryReminder) return;
        if (!stored.RecordExists) await this.UnregisterReminderIfAny(ExpiryReminder);
        else await DiscardIfExpiredAsync();
    }

    private async Task DiscardIfExpiredAsync()
    {
        if (!stored.RecordExists || time.GetUtcNow() < stored.State.ExpiresAt) return;
        LogExpired(logger);
        var held = Open();
        if (held is null) await ForgetAsync();
        else await DiscardAsync(held);
    }

    /// <summary>Revokes a grant nobody will hold (refresh token first: at most servers it takes the grant with it), then forgets it.</summary>
    private async Task DiscardAsync(HeldAuthorization held)
    {
        if (providers.TryGet(held.Family.Provider, out var provider))
        {
            if (held.Tokens.RefreshToken is { } refresh) await upstream.RevokeAsync(provider, refresh, "refresh_token");
            await upstream.RevokeAsync(provider, held.Tokens.AccessToken, "access_token");
        }
        await ForgetAsync();
    }

    private async Task ForgetAsync()
    {
        if (stored.RecordExists) await stored.ClearStateAsync();
        await this.UnregisterReminderIfAny(ExpiryReminder);
        DeactivateOnIdle();
    }

    /// <summary>The held authorization, or null when there is none or it no longer opens (then it is unusable anyway).</summary>
    private HeldAuthorization? Open()
    {
        if (!stored.RecordExists || stored.State.Sealed is not { } sealedValue) return null;
        try
        {
            return serializer.Deserialize<HeldAuthorization>(Convert.FromBase64String(protector.Unprotect(sealedValue, Context)));
        }
        catch (BrokerException ex) when (FamilySecrets.IsTampering(ex))
        {
            LogUnreadable(logger);
            return null;
        }
    }

    // Reminders fire at most this often; one firing after expiry is enough.
    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(5);

    private string Context => $"authorization-completion/{this.GetPrimaryKeyString()}";

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "A completion for provider {Provider} was presented by caller {Caller} for another subject or by another caller: refused, and its grant revoked.")]
    private static partial void LogMismatch(ILogger logger, string provider, string caller);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "An authorization was not completed in time: discarded, and its grant revoked.")]
    private static partial void LogExpired(ILogger logger);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "A held authorization does not decrypt (altered, or its key left the ring): it cannot be claimed.")]
    private static partial void LogUnreadable(ILogger logger);
}

/// <summary>What is stored: the held authorization sealed as one value, and its expiry in clear for cleanup.</summary>
[GenerateSerializer]
public sealed class AuthorizationCompletionState
{
    [Id(0)] public ProtectedSecret? Sealed { get; set; }
    [Id(1)] public DateTimeOffset ExpiresAt { get; set; }
}
