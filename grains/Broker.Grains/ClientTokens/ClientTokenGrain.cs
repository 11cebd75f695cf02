using Broker.Abstractions;
using Broker.Abstractions.Events;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Protection;
using Broker.Grains.Storage;
using Broker.Grains.Telemetry;
using Broker.Grains.Upstream;
using Broker.OAuth.Dpop;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Microsoft.Extensions.Logging;

namespace Broker.Grains.ClientTokens;

/// <summary>
/// One client-credentials token. Not reentrant: concurrent callers queue behind the one that acquires, and
/// then find the token in memory, so one expiry causes one token request.
/// </summary>
public sealed partial class ClientTokenGrain(
    [PersistentState("client-token", BrokerStorage.Name)] IPersistentState<ClientTokenState> stored,
    ProviderRegistry providers,
    UpstreamTokenRequests upstream,
    SecretProtector protector,
    StoredStateLedger ledger,
    TimeProvider time,
    BrokerMetrics metrics,
    FamilyEvents events,
    Microsoft.Extensions.Options.IOptions<TokenFamilyOptions> serving,
    ILogger<ClientTokenGrain> logger) : Grain, IClientTokenGrain
{
    private ClientTokenKey _key = null!;
    private ServedTokenLeases _leases = null!;
    private (long Generation, string Token)? _plain;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = ClientTokenKey.FromGrainKey(this.GetPrimaryKeyString());
        _leases = new ServedTokenLeases(time, serving.Value.ServedTokenLease);
        if (ledger.TakeRefusal(this.GetGrainId()) is not null)
        {
            // A client token is a cache: a row that fails authentication is dropped, never served (the next write replaces it).
            metrics.StateUnreadable("client-token");
            stored.State = new ClientTokenState();
        }
        return Task.CompletedTask;
    }

    /// <summary>Frees the opened DPoP key with the activation, rather than whenever its finalizer runs.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _dpopKey?.Key.Dispose();
        _dpopKey = null;
        return Task.CompletedTask;
    }

    public Task<AccessTokenResult> GetAccessToken(TimeSpan minTimeToLive) => Answer(minTimeToLive, leased: false);

    public Task<AccessTokenResult> LeaseAccessToken(TimeSpan minTimeToLive) => Answer(minTimeToLive, leased: true);

    private async Task<AccessTokenResult> Answer(TimeSpan minTimeToLive, bool leased)
    {
        if (TryServe(minTimeToLive, TokenSource.Cache) is { } cached)
        {
            metrics.TokenServed(_key.Provider.Value, "cache");
            return leased ? cached with { Lease = _leases.Give() } : cached;
        }

        var provider = providers.Get(_key.Provider);
        var dpop = DpopUse.MayApply(provider) ? new LocalDpopProver(algorithm => DpopKeyOf(stored.State, algorithm), time) : null;
        stored.State.Owner ??= CallerRequestContext.Current;
        var outcome = await upstream.ClientCredentialsAsync(provider, _key.Scopes, _key.Resource, this.GetPrimaryKeyString(), dpop);
        if (outcome is not TokenEndpointOutcome.Issued issued)
        {
            // A definite refusal (rejected credentials, a disabled client) is a failure to tell the owner; an outage is not.
            if (RefusalOf(outcome) is { } reason)
            {
                var (health, failed) = ClientTokenNotifications.Refused(stored.State.Health, reason, time.GetUtcNow(), events.Options.FlappingWindow);
                await RecordAsync(health, failed);
            }
            throw UpstreamTokenRequests.ErrorFor(outcome, "the client credentials request");
        }

        var state = stored.State;
        var (healthy, recovered) = ClientTokenNotifications.Issued(state.Health, time.GetUtcNow(), events.Options.FlappingWindow);
        state.Health = healthy;
        state.Generation++;
        state.AccessToken = protector.Protect(issued.Tokens.AccessToken, Context);
        state.TokenType = issued.Tokens.TokenType;
        state.IssuedAt = TokenLifetime.StartOf(issued.Tokens.IssuedAt, issued.Tokens.ExpiresAt, time.GetUtcNow());
        state.ExpiresAt = issued.Tokens.ExpiresAt;
        state.Scopes = issued.Tokens.Scopes;
        _plain = (state.Generation, issued.Tokens.AccessToken);
        try
        {
            await stored.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not BrokerException)
        {
            // A client-credentials token can always be acquired again: serve it, storing is an optimisation.
            LogNotStored(logger, _key.Provider.Value, ex.GetType().Name);
        }
        if (recovered is not null) await EmitAsync(recovered);
        // Silos may still hold the token this one replaces: it is handed out once their leases have ended.
        await _leases.Ended();
        metrics.TokenServed(_key.Provider.Value, "client_credentials");
        var fresh = TryServe(TimeSpan.Zero, TokenSource.ClientCredentials)!;
        return leased ? fresh with { Lease = _leases.Give() } : fresh;
    }

    private static string? RefusalOf(TokenEndpointOutcome outcome) => outcome switch
    {
        TokenEndpointOutcome.Rejected rejected => rejected.Error,
        TokenEndpointOutcome.Refused refused => $"http_{refused.HttpStatus}",
        _ => null,
    };

    /// <summary>Stores the new health (when it changed), then emits its event: the event follows the write that makes it true.</summary>
    private async Task RecordAsync(ClientTokenHealth health, ClientTokenNotice? notice)
    {
        if (health == stored.State.Health) return;
        stored.State.Health = health;
        try
        {
            await stored.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not BrokerException)
        {
            LogNotStored(logger, _key.Provider.Value, ex.GetType().Name);
        }
        if (notice is not null) await EmitAsync(notice);
    }

    private async Task EmitAsync(ClientTokenNotice notice)
    {
        var state = stored.State;
        var e = BrokerEvent.Create(notice.Type, time.GetUtcNow(), _key.Provider.Value, subject: null, state.Owner, notice.Reason,
            state.Health.Failing ? "failed" : "active", _key.Scopes, notice.Suppressed);
        try
        {
            await events.AppendAsync([e], _key.Provider.Value);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Already logged as lost by the emitter; the caller's answer (a token, or the provider's refusal) stands.
        }
    }

    /// <summary>A client token is a cache: re-seal it under the primary key, or drop it when it cannot be read.</summary>
    public async Task<ReencryptionOutcome> Reencrypt()
    {
        var state = stored.State;
        if (state.AccessToken is null) return ReencryptionOutcome.Empty;
        if (!protector.NeedsReencryption(state.AccessToken) && !ledger.NeedsResealing(this.GetGrainId(), protector.PrimaryKeyId))
            return ReencryptionOutcome.Current;
        try
        {
            state.AccessToken = protector.Protect(protector.Unprotect(state.AccessToken, Context), Context);
            if (state.DpopKey is not null) state.DpopKey = protector.Protect(protector.Unprotect(state.DpopKey, KeyContext), KeyContext);
            await stored.WriteStateAsync();
            return ReencryptionOutcome.Reencrypted;
        }
        catch (BrokerException ex) when (ex.Reason == BrokerErrorReason.StateUnreadable)
        {
            metrics.StateUnreadable("client-token");
            _plain = null;
            await stored.ClearStateAsync();
            return ReencryptionOutcome.Unreadable;
        }
    }

    private string Context => $"client-token/{this.GetPrimaryKeyString()}/access_token";

    private string KeyContext => $"client-token/{this.GetPrimaryKeyString()}/dpop_key";

    private (ProtectedSecret Sealed, DpopKey Key)? _dpopKey;

    /// <summary>
    /// This token's DPoP key: made for <paramref name="algorithm"/> (sealed into the state, stored with the token) on
    /// first use, then kept, as a family keeps its own: the token held is bound to it.
    /// </summary>
    private DpopKey DpopKeyOf(ClientTokenState state, string? algorithm = null)
    {
        if (state.DpopKey is null)
        {
            var made = DpopKey.Generate(algorithm ?? DpopKey.DefaultAlgorithm);
            state.DpopKey = protector.Protect(made.ExportSealable(), KeyContext);
            _dpopKey?.Key.Dispose();
            _dpopKey = (state.DpopKey, made);
        }
        if (_dpopKey is { } held && ReferenceEquals(held.Sealed, state.DpopKey)) return held.Key;
        var key = DpopKey.ImportSealable(protector.Unprotect(state.DpopKey, KeyContext));
        _dpopKey?.Key.Dispose();
        _dpopKey = (state.DpopKey, key);
        return key;
    }

    public Task<DpopProofResult> CreateProof(string httpMethod, string url, string? nonce)
    {
        var state = stored.State;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var target) || (target.Scheme != Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttp))
            throw new BrokerException(BrokerErrorReason.InvalidArgument, "url must be an absolute http(s) URL.");
        if (state.DpopKey is null || !DpopUse.IsBound(state.TokenType))
            throw new BrokerException(BrokerErrorReason.InvalidState, "the client token is not DPoP-bound: send it as a bearer token.");
        if (TryServe(TimeSpan.Zero, TokenSource.Cache) is not { } token)
            throw new BrokerException(BrokerErrorReason.InvalidState, "no valid client token is held: get one with GetClientToken first.");
        var now = time.GetUtcNow();
        var proof = DpopProof.Create(DpopKeyOf(state), httpMethod, target, now, nonce, token.AccessToken);
        return Task.FromResult(new DpopProofResult(proof, DpopProof.AccessTokenHash(token.AccessToken), now + DpopProof.MaxLifetime));
    }

    private AccessTokenResult? TryServe(TimeSpan minTimeToLive, TokenSource source)
    {
        var state = stored.State;
        if (state.AccessToken is null) return null;
        if (!TokenLifetime.IsFreshEnough(state.IssuedAt, state.ExpiresAt, time.GetUtcNow(), minTimeToLive)) return null;
        if (_plain is not { } plain || plain.Generation != state.Generation)
        {
            plain = (state.Generation, protector.Unprotect(state.AccessToken, Context));
            _plain = plain;
        }
        return new AccessTokenResult(plain.Token, state.TokenType, state.ExpiresAt, state.Scopes, source) { IssuedAt = state.IssuedAt };
    }

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Client token at {Provider} could not be stored ({Error}); serving it from memory.")]
    private static partial void LogNotStored(ILogger logger, string provider, string error);
}
