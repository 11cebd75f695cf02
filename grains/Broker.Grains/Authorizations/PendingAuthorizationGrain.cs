using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Protection;
using Broker.Grains.Storage;
using Broker.Grains.Upstream;
using Broker.OAuth.Authorization;
using Broker.OAuth.Discovery;
using Broker.OAuth.Dpop;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Broker.Grains.Authorizations;

/// <summary>
/// One authorization request between its start and its callback. Keyed by a hash of the state, it keeps the
/// PKCE verifier and nonce encrypted, accepts exactly one response, and hands the tokens to the family.
/// </summary>
public sealed partial class PendingAuthorizationGrain(
    [PersistentState("pending-authorization", BrokerStorage.Name)] IPersistentState<PendingAuthorizationState> stored,
    ProviderRegistry providers,
    MetadataStore metadataStore,
    UpstreamTokenRequests upstream,
    SecretProtector protector,
    StoredStateLedger ledger,
    TimeProvider time,
    IOptions<AuthorizationOptions> options,
    IOptions<ReminderOptions> reminders,
    ILogger<PendingAuthorizationGrain> logger) : Grain, IPendingAuthorizationGrain, IRemindable
{
    private const string ExpiryReminder = "expiry";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A row that fails authentication is no authorization: the state is then unknown to this grain.
        if (ledger.TakeRefusal(this.GetGrainId()) is not null) stored.State = new PendingAuthorizationState();
        return Task.CompletedTask;
    }

    public async Task<AuthorizationStart> Begin(FamilyKey family, ScopeSet scopes, string state, AuthorizationBinding binding)
    {
        if (OneTimeValue.KeyOf(state) != this.GetPrimaryKeyString())
            throw new BrokerException(BrokerErrorReason.InvalidArgument, "state does not match this pending authorization.");
        if (stored.RecordExists)
            throw new BrokerException(BrokerErrorReason.InvalidState, "this state is already in use.");

        var provider = providers.Get(family.Provider);
        var metadata = await metadataStore.GetAsync(provider);
        // RFC 9700 §2.1.1: use PKCE, and check the server supports it rather than hoping it does.
        if (!metadata.CodeChallengeMethods.Contains(Pkce.Method, StringComparer.Ordinal))
        {
            throw new BrokerException(BrokerErrorReason.ProviderRejected,
                $"provider '{provider.Name}' does not advertise PKCE with S256 (code_challenge_methods_supported).");
        }

        var request = AuthorizationRequest.Create(provider, scopes, state);
        var expiresAt = time.GetUtcNow() + options.Value.PendingLifetime;
        stored.State = new PendingAuthorizationState
        {
            Family = family,
            Scopes = request.Scopes,
            CodeVerifier = protector.Protect(request.CodeVerifier, Context("code_verifier")),
            Nonce = request.Nonce is null ? null : protector.Protect(request.Nonce, Context("nonce")),
            ExpiresAt = expiresAt,
            Binding = binding,
        };
        await stored.WriteStateAsync();
        // The verifier must not outlive the request, whichever silo holds the grain by then: a durable reminder
        // (an in-memory timer dies with its silo, and the row with it would stay for ever).
        var lifetime = options.Value.PendingLifetime;
        await this.RegisterOrUpdateReminderAtLeast(ExpiryReminder, lifetime, lifetime, reminders.Value);
        // DPoP: the code is bound to the family's key (dpop_jkt); the key is made in, and stays in, the family.
        var dpopThumbprint = DpopUse.Algorithm(provider, metadata) is { } algorithm
            ? await GrainFactory.GetGrain<ITokenFamilyGrain>(family.ToGrainKey()).DpopThumbprint(algorithm)
            : null;
        return new AuthorizationStart(request.ToUrl(metadata, dpopThumbprint), state, expiresAt);
    }

    public async Task<AuthorizationCompleted> Complete(ProviderName provider, AuthorizationResponse response)
    {
        var pending = stored.State;
        if (!stored.RecordExists || pending.CodeVerifier is null)
            throw InvalidState("the state is unknown or has expired.");
        if (pending.Used)
            throw InvalidState("the state has already been used.");

        // Our own budget refusing the redemption spends nothing: the user may load the callback again.
        await upstream.TakeBudgetAsync(providers.Get(pending.Family.Provider));

        // Any response burns the state, even an invalid one: a state is good for one try.
        pending.Used = true;
        await stored.WriteStateAsync();

        if (time.GetUtcNow() >= pending.ExpiresAt)
            throw InvalidState("the state has expired.");
        if (pending.Family.Provider != provider)
        {
            // A response for one provider's request arriving at another's redirect URI: the mix-up signature.
            LogProviderMismatch(logger, provider.Value, pending.Family.Provider.Value);
            throw InvalidState("the state belongs to another provider.");
        }

        var configured = providers.Get(provider);
        var metadata = await metadataStore.GetAsync(configured);
        AuthorizationResponseValidator.Validate(response, metadata);

        var verifier = protector.Unprotect(pending.CodeVerifier, Context("code_verifier"));
        // With DPoP the family signs the redemption's proof: its key never leaves it.
        var dpop = DpopUse.MayApply(configured) ? new FamilyDpopProver(GrainFactory.GetGrain<ITokenFamilyGrain>(pending.Family.ToGrainKey())) : null;
        var outcome = await upstream.RedeemCodeAsync(configured, response.Code!, verifier, pending.Scopes, dpop);
        if (outcome is TokenEndpointOutcome.NotSent or TokenEndpointOutcome.Throttled)
        {
            // The server never took the code (not sent, or a 429/503): the state stays good for another try until it expires.
            pending.Used = false;
            await stored.WriteStateAsync();
            var error = UpstreamTokenRequests.ErrorFor(outcome, "the authorization code");
            throw new BrokerException(error.Reason, $"{error.Message} The code was not used: load this page again to retry.", error.RetryAfter)
                { Detail = NotSentDetail };
        }
        if (outcome is not TokenEndpointOutcome.Issued { Tokens: var tokens })
            throw UpstreamTokenRequests.ErrorFor(outcome, "the authorization code");

        var account = pending.Nonce is null ? null
            : IdTokenCheck.Validate(tokens.IdToken, metadata.Issuer, configured.ClientId, protector.Unprotect(pending.Nonce, Context("nonce")));

        var binding = pending.Binding ?? Legacy;
        var hasRefreshToken = tokens.RefreshToken is not null;
        if (binding.ReturnUrl is null)
        {
            // Direct mode, allowed by the caller's policy: whoever completes the login decides the family's account.
            // The caller that began it owns a new family (no caller is in this call's context: it is the browser's).
            if (binding != Legacy) CallerRequestContext.Set(binding.Caller);
            await GrainFactory.GetGrain<ITokenFamilyGrain>(pending.Family.ToGrainKey()).StoreAuthorizedTokens(tokens, account, binding.ReplaceAccount);
            await stored.ClearStateAsync();
            return new AuthorizationCompleted(pending.Family, tokens.Scopes, hasRefreshToken);
        }

        // The tokens wait for the service that began the flow to claim them for its signed-in user.
        var completion = OneTimeValue.Create();
        var held = new HeldAuthorization(pending.Family, binding.Caller, tokens, account, binding.ReplaceAccount,
            time.GetUtcNow() + options.Value.CompletionLifetime);
        await GrainFactory.GetGrain<IAuthorizationCompletionGrain>(OneTimeValue.KeyOf(completion)).Hold(held);
        await stored.ClearStateAsync();
        return new AuthorizationCompleted(pending.Family, tokens.Scopes, hasRefreshToken, completion, binding.ReturnUrl);
    }

    /// <summary>A request begun by a version without bindings completed as it would have been: directly.</summary>
    private static readonly AuthorizationBinding Legacy = new("-", ReturnUrl: null, ReplaceAccount: false);

    /// <summary>Clears an expired authorization (or finds it completed) and ends its reminder. Early (clocks differ between silos): the next tick.</summary>
    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ExpiryReminder) return;
        if (stored.RecordExists && time.GetUtcNow() < stored.State.ExpiresAt) return;
        if (stored.RecordExists) await stored.ClearStateAsync();
        await this.UnregisterReminderIfAny(ExpiryReminder);
        DeactivateOnIdle();
    }

    /// <summary>The detail of a failure after which the same callback may simply be loaded again.</summary>
    public const string NotSentDetail = "not_sent";

    private string Context(string field) => $"pending-authorization/{this.GetPrimaryKeyString()}/{field}";

    private static BrokerException InvalidState(string why) => new(BrokerErrorReason.InvalidState, why);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Authorization response at the redirect URI of {Provider} carried the state of a request to {Expected}: rejected (possible mix-up attack).")]
    private static partial void LogProviderMismatch(ILogger logger, string provider, string expected);
}
