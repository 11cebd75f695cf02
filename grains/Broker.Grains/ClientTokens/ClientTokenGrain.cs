using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Families;
using Broker.Grains.Protection;
using Broker.Grains.Storage;
using Broker.Grains.Telemetry;
using Broker.OAuth.Discovery;
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
    MetadataStore metadataStore,
    TokenEndpointClient tokenEndpoint,
    SecretProtector protector,
    TimeProvider time,
    BrokerMetrics metrics,
    ILogger<ClientTokenGrain> logger) : Grain, IClientTokenGrain
{
    private ClientTokenKey _key = null!;
    private (long Generation, string Token)? _plain;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = ClientTokenKey.FromGrainKey(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<AccessTokenResult> GetAccessToken(TimeSpan minTimeToLive)
    {
        if (TryServe(minTimeToLive, TokenSource.Cache) is { } cached)
        {
            metrics.TokenServed(_key.Provider.Value, "cache");
            return cached;
        }

        var provider = providers.Get(_key.Provider);
        var throttle = GrainFactory.GetGrain<IClientThrottleGrain>(new ClientKey(provider.Name, provider.ClientId).ToGrainKey());
        if (await throttle.TryAcquire() is { } wait)
        {
            throw new BrokerException(BrokerErrorReason.Throttled,
                $"token requests of this client at provider '{provider.Name}' are over their budget.", wait);
        }
        var metadata = await metadataStore.GetAsync(provider);
        var started = time.GetTimestamp();
        var outcome = await tokenEndpoint.ClientCredentialsAsync(provider, metadata, _key.Scopes, _key.Resource);
        var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
        LogAcquired(logger, _key.Provider.Value, outcome.Kind, elapsed);
        metrics.UpstreamRequest(_key.Provider.Value, "client_credentials", outcome.Kind, elapsed);
        switch (outcome)
        {
            case TokenEndpointOutcome.Issued issued:
                var state = stored.State;
                state.Generation++;
                state.AccessToken = protector.Protect(issued.Tokens.AccessToken, Context);
                state.TokenType = issued.Tokens.TokenType;
                state.IssuedAt = time.GetUtcNow();
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
                metrics.TokenServed(_key.Provider.Value, "client_credentials");
                return TryServe(TimeSpan.Zero, TokenSource.ClientCredentials)!;
            case TokenEndpointOutcome.Rejected rejected:
                throw new BrokerException(BrokerErrorReason.ProviderRejected,
                    $"the provider rejected the client credentials request with '{rejected.Error}'.") { Detail = rejected.Error };
            case TokenEndpointOutcome.Throttled throttled:
                await throttle.Backoff(throttled.RetryAfter);
                throw new BrokerException(BrokerErrorReason.Throttled, "the provider asks the broker to slow down.", throttled.RetryAfter);
            default:
                throw new BrokerException(BrokerErrorReason.ProviderUnavailable,
                    $"the provider could not issue a client token ({outcome.Kind}).", TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>A client token is a cache: re-seal it under the primary key, or drop it when it cannot be read.</summary>
    public async Task<ReencryptionOutcome> Reencrypt()
    {
        var state = stored.State;
        if (state.AccessToken is null) return ReencryptionOutcome.Empty;
        if (!protector.NeedsReencryption(state.AccessToken)) return ReencryptionOutcome.Current;
        try
        {
            state.AccessToken = protector.Protect(protector.Unprotect(state.AccessToken, Context), Context);
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
        return new AccessTokenResult(plain.Token, state.TokenType, state.ExpiresAt, state.Scopes, source);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Client token at {Provider}: request ended {Outcome} in {ElapsedMs} ms.")]
    private static partial void LogAcquired(ILogger logger, string provider, string outcome, double elapsedMs);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Client token at {Provider} could not be stored ({Error}); serving it from memory.")]
    private static partial void LogNotStored(ILogger logger, string provider, string error);
}
