using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Protection;
using Broker.Grains.Storage;
using Broker.Grains.Telemetry;
using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Security.Cryptography;
using System.Text;
using Orleans.Concurrency;
using Orleans.Storage;

namespace Broker.Grains.Families;

/// <summary>
/// Holds one token family and is the only thing that refreshes it. Reentrant so that cache hits are served
/// while a refresh awaits the server; every change of state goes through <see cref="_gate"/>, and concurrent
/// callers that need a refresh join the one in flight.
/// </summary>
[Reentrant]
public sealed partial class TokenFamilyGrain(
    [PersistentState("family", BrokerStorage.Name)] IPersistentState<TokenFamilyState> stored,
    ProviderRegistry providers,
    MetadataStore metadataStore,
    TokenEndpointClient tokenEndpoint,
    SecretProtector protector,
    TokenFingerprint fingerprints,
    TimeProvider time,
    IOptions<TokenFamilyOptions> options,
    BrokerMetrics metrics,
    ILogger<TokenFamilyGrain> logger) : Grain, ITokenFamilyGrain, IRemindable
{
    private const string KeepAliveReminder = "keep-alive";
    private readonly double _refreshAheadJitter = Random.Shared.NextDouble();
    private readonly Guid _activation = Guid.NewGuid();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TokenFamilyOptions _options = options.Value;
    private FamilyKey _key;
    private string _logId = "";
    private Task? _refreshInFlight;
    private (long Generation, string Token)? _plainAccessToken;
    private bool _unpersisted;

    private TokenFamilyState State => stored.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = FamilyKey.FromGrainKey(this.GetPrimaryKeyString());
        _logId = FamilyLogId.Of(_key);
        return Task.CompletedTask;
    }

    public async Task<AccessTokenResult> GetAccessToken(TimeSpan minTimeToLive, bool forceRefresh)
    {
        try
        {
            return await Serve(minTimeToLive, forceRefresh);
        }
        catch (BrokerException ex) when (IsTampering(ex))
        {
            await MarkUnreadable();
            throw;
        }
    }

    private async Task<AccessTokenResult> Serve(TimeSpan minTimeToLive, bool forceRefresh)
    {
        if (!_unpersisted && !forceRefresh && TryServe(minTimeToLive, TokenSource.Cache) is { } cached)
        {
            RefreshAheadIfDue();
            return Served(cached);
        }

        if (_unpersisted)
        {
            // Rotated tokens wait to be stored: store them, never refresh again meanwhile.
            await (_refreshInFlight ??= RunPersist());
            return Served(TryServe(TimeSpan.Zero, TokenSource.Cache) ?? throw NotServable());
        }

        var provider = providers.Get(_key.Provider);
        var generationBefore = State.Generation;
        if (forceRefresh && State.LastRefreshAt is { } last && time.GetUtcNow() - last < _options.MinForcedRefreshInterval
            && TryServe(TimeSpan.Zero, TokenSource.Cache) is { } recent)
        {
            // A forced refresh right after a refresh would only spend a refresh token: hand out the new token.
            return Served(recent);
        }

        await (_refreshInFlight ??= RunRefresh(provider, forceRefresh ? RefreshCause.Forced : RefreshCause.Expiring));

        var source = State.Generation != generationBefore ? TokenSource.Refresh : TokenSource.Cache;
        return Served(TryServe(TimeSpan.Zero, source) ?? throw NotServable());
    }

    private AccessTokenResult Served(AccessTokenResult token)
    {
        System.Diagnostics.Activity.Current?.SetTag("broker.token.source", token.Source == TokenSource.Cache ? "cache" : "refresh");
        metrics.TokenServed(_key.Provider.Value, token.Source == TokenSource.Cache ? "cache" : "refresh");
        return token;
    }

    /// <summary>
    /// Starts a refresh in the background when a family in use nears its callers' buffer, so they rarely wait
    /// on the server. The current token keeps being served meanwhile.
    /// </summary>
    private void RefreshAheadIfDue()
    {
        var state = State;
        if (!_options.RefreshAhead || _refreshInFlight is not null || state.Status != FamilyStatus.Active || state.RefreshToken is null) return;
        var lifetime = state.AccessTokenExpiresAt - state.AccessTokenIssuedAt;
        var buffer = _options.ExpiryBuffer < lifetime / 2 ? _options.ExpiryBuffer : lifetime / 2;
        var threshold = buffer + lifetime * (_options.RefreshAheadJitter * _refreshAheadJitter);
        if (state.AccessTokenExpiresAt - time.GetUtcNow() > threshold) return;
        if (!providers.TryGet(_key.Provider, out var provider)) return;
        _refreshInFlight = RunInBackground(provider, RefreshCause.Ahead);
    }

    private async Task RunInBackground(Provider provider, RefreshCause cause)
    {
        try
        {
            await RunRefresh(provider, cause);
        }
        catch (BrokerException ex)
        {
            // The token in hand is still valid; the next caller that needs a new one will see the failure.
            LogBackgroundRefreshFailed(logger, _logId, cause.ToString(), ex.Reason.ToString());
        }
    }

    public async Task StoreAuthorizedTokens(TokenSet tokens)
    {
        await _gate.WaitAsync();
        try
        {
            await Adopt(tokens);
            LogAuthorized(logger, _logId, _key.Provider.Value);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task ImportTokens(TokenSet tokens)
    {
        await _gate.WaitAsync();
        try
        {
            if (tokens.RefreshToken is { } presented)
            {
                if (State.SupersededRefreshTokens.Any(f => fingerprints.Matches(presented, f)))
                {
                    await RevokeAfterTheft();
                    throw new BrokerException(BrokerErrorReason.TokenReuseDetected,
                        "this refresh token was already rotated away by the broker: someone kept a copy. The family has been revoked; begin a new authorization.");
                }
                if (State.RefreshToken is { } current && TryOpen(current, "refresh_token") is { } held && SameSecret(held, presented))
                    return; // Importing what the family already holds changes nothing.
            }
            await Adopt(tokens);
            LogImported(logger, _logId, _key.Provider.Value);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Makes tokens from outside a refresh (an authorization, an import) the family's current ones.</summary>
    private async Task Adopt(TokenSet tokens)
    {
        await WriteFenced(state =>
        {
            var previous = state.RefreshToken;
            Apply(state, tokens);
            if (previous is not null && tokens.RefreshToken is not null && TryOpen(previous, "refresh_token") is { } old)
                Supersede(state, old);
            state.Status = FamilyStatus.Active;
            state.StatusReason = null;
            state.Intent = null;
        });
        await ScheduleKeepAlive();
    }

    /// <summary>
    /// A superseded refresh token came back: whoever holds it can use the family (RFC 9700 §4.14.2). Revoke
    /// what the family holds upstream, so the thief's copy dies with ours, and stop serving it.
    /// </summary>
    private async Task RevokeAfterTheft()
    {
        metrics.ReuseDetected(_key.Provider.Value);
        LogReuseDetected(logger, _logId, _key.Provider.Value);
        await RevokeUpstreamAndForget("token_reuse_detected");
    }

    private static bool SameSecret(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    public async Task Revoke()
    {
        await _gate.WaitAsync();
        try
        {
            await RevokeUpstreamAndForget("revoked");
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RevokeUpstreamAndForget(string reason)
    {
        var provider = providers.Get(_key.Provider);
        if (State.StatusReason != StateUnreadableReason && (State.RefreshToken is not null || State.AccessToken is not null))
        {
            var metadata = await metadataStore.GetAsync(provider);
            // Revoking the refresh token revokes the grant at servers that support it (RFC 7009 §2.1).
            // A secret that no longer decrypts cannot be revoked upstream; the family is still forgotten here.
            var revoked = State.RefreshToken is { } refresh && TryOpen(refresh, "refresh_token") is { } refreshToken
                && await tokenEndpoint.RevokeAsync(provider, metadata, refreshToken, "refresh_token");
            if (State.AccessToken is { } access && TryOpen(access, "access_token") is { } accessToken)
                await tokenEndpoint.RevokeAsync(provider, metadata, accessToken, "access_token");
            LogRevoked(logger, _logId, _key.Provider.Value, revoked);
        }
        await WriteFenced(state =>
        {
            if (state.RefreshToken is { } refresh && TryOpen(refresh, "refresh_token") is { } old) Supersede(state, old);
            state.AccessToken = null;
            state.RefreshToken = null;
            state.IdToken = null;
            state.Intent = null;
            state.Status = FamilyStatus.Revoked;
            state.StatusReason = reason;
        });
        _plainAccessToken = null;
        await this.UnregisterReminderIfAny(KeepAliveReminder);
    }

    /// <summary>
    /// Stored secrets that fail to decrypt (altered, moved from another family's row, or under a retired key)
    /// mark the family instead of resetting it: the ciphertext stays for investigation, callers get
    /// STATE_UNREADABLE, and a new authorization replaces it.
    /// </summary>
    /// <summary>Authentication failed on a key this silo holds: altered or moved. A key it lacks is not marked.</summary>
    private static bool IsTampering(BrokerException ex) =>
        ex.Reason == BrokerErrorReason.StateUnreadable && ex.Detail != SecretProtector.KeyNotInRing;

    private async Task MarkUnreadable()
    {
        await _gate.WaitAsync();
        try
        {
            await MarkUnreadableHoldingGate();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task MarkUnreadableHoldingGate()
    {
        if (State.StatusReason == StateUnreadableReason) return;
        metrics.StateUnreadable("family");
        LogStateUnreadable(logger, _logId, _key.Provider.Value);
        _plainAccessToken = null;
        await WriteOnStored(state =>
        {
            state.Status = FamilyStatus.ReauthorizationRequired;
            state.StatusReason = StateUnreadableReason;
        });
    }

    public async Task<ReencryptionOutcome> Reencrypt()
    {
        await _gate.WaitAsync();
        try
        {
            ProtectedSecret?[] secrets = [State.AccessToken, State.RefreshToken, State.IdToken];
            if (secrets.All(s => s is null)) return ReencryptionOutcome.Empty;
            if (!secrets.Any(s => s is not null && protector.NeedsReencryption(s))) return ReencryptionOutcome.Current;
            try
            {
                await WriteOnStored(ResealUnderPrimary);
            }
            catch (BrokerException ex) when (IsTampering(ex))
            {
                await MarkUnreadableHoldingGate();
                return ReencryptionOutcome.Unreadable;
            }
            return ReencryptionOutcome.Reencrypted;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task MarkReauthorizationRequired()
    {
        await _gate.WaitAsync();
        try
        {
            if (State.Status == FamilyStatus.None) return;
            await WriteOnStored(state =>
            {
                state.Status = FamilyStatus.ReauthorizationRequired;
                state.StatusReason = MarkedByOperatorReason;
            });
            _plainAccessToken = null;
            metrics.ReauthorizationRequired(_key.Provider.Value, MarkedByOperatorReason);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<FamilyDescription> Describe()
    {
        var throttledUntil = providers.TryGet(_key.Provider, out var provider)
            ? await Throttle(provider).BlockedUntil()
            : null;
        return new FamilyDescription(
            _key,
            State.Status,
            State.Scopes,
            State.AccessToken is null ? null : State.AccessTokenExpiresAt,
            State.RefreshToken is not null,
            State.RefreshCount,
            State.LastRefreshAt,
            State.LastRefreshOutcome,
            State.StatusReason,
            throttledUntil);
    }

    private IClientThrottleGrain Throttle(Provider provider) =>
        GrainFactory.GetGrain<IClientThrottleGrain>(new ClientKey(provider.Name, provider.ClientId).ToGrainKey());

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != KeepAliveReminder) return;
        if (!providers.TryGet(_key.Provider, out var provider) || provider.Options.KeepAliveInterval is not { } interval
            || State.Status != FamilyStatus.Active || State.RefreshToken is null)
        {
            await this.UnregisterReminderIfAny(KeepAliveReminder);
            return;
        }
        var lastUse = State.LastRefreshAt ?? State.RefreshTokenReceivedAt ?? DateTimeOffset.MinValue;
        if (time.GetUtcNow() - lastUse < interval || _refreshInFlight is not null) return;
        await (_refreshInFlight = RunInBackground(provider, RefreshCause.KeepAlive));
    }

    /// <summary>Providers that revoke idle refresh tokens get a durable reminder that refreshes idle families.</summary>
    private async Task ScheduleKeepAlive()
    {
        if (providers.TryGet(_key.Provider, out var provider) && provider.Options.KeepAliveInterval is { } interval)
        {
            var period = interval / 2;
            await this.RegisterOrUpdateReminder(KeepAliveReminder, period, period);
        }
    }

    /// <summary>Serves the held access token when it stays valid long enough; never touches I/O.</summary>
    private AccessTokenResult? TryServe(TimeSpan minTimeToLive, TokenSource source)
    {
        var state = State;
        // A family whose refresh failed keeps serving its still-valid access token; one an operator marked does not.
        if (state.AccessToken is null || state.Status == FamilyStatus.Revoked || state.StatusReason == MarkedByOperatorReason) return null;
        if (!TokenLifetime.IsFreshEnough(state.AccessTokenIssuedAt, state.AccessTokenExpiresAt, time.GetUtcNow(), minTimeToLive)) return null;

        if (_plainAccessToken is not { } plain || plain.Generation != state.Generation)
        {
            plain = (state.Generation, Open(state.AccessToken, "access_token"));
            _plainAccessToken = plain;
        }
        return new AccessTokenResult(plain.Token, state.TokenType, state.AccessTokenExpiresAt, state.Scopes, source);
    }

    private BrokerException NotServable() => State.Status switch
    {
        FamilyStatus.None => new BrokerException(BrokerErrorReason.AuthorizationRequired,
            $"no tokens are held for this subject at provider '{_key.Provider}': begin an authorization."),
        FamilyStatus.Revoked => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            "the family was revoked: begin a new authorization.") { Detail = State.StatusReason },
        FamilyStatus.ReauthorizationRequired when State.StatusReason == RefreshOutcomeUnknownReason =>
            new BrokerException(BrokerErrorReason.RefreshOutcomeUnknown,
                "a refresh may have reached the provider but its answer was lost; replaying it would get the family revoked: begin a new authorization.")
                { Detail = State.StatusReason },
        FamilyStatus.ReauthorizationRequired when State.StatusReason == MarkedByOperatorReason =>
            new BrokerException(BrokerErrorReason.ReauthorizationRequired,
                "an operator marked this family for reauthorization: begin a new authorization.") { Detail = State.StatusReason },
        FamilyStatus.ReauthorizationRequired => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            "the provider no longer accepts this family's refresh token: begin a new authorization.") { Detail = State.StatusReason },
        _ => new BrokerException(BrokerErrorReason.ReauthorizationRequired,
            "the family holds no refresh token and its access token has expired: begin a new authorization."),
    };

    private const string RefreshOutcomeUnknownReason = "refresh_outcome_unknown";
    private const string StateUnreadableReason = "state_unreadable";
    private const string MarkedByOperatorReason = "marked_by_operator";
    private const string PossibleTheftReason = "invalid_grant_possible_theft";

    /// <summary>Why the provider refused a refresh token, as far as the broker can tell.</summary>
    private string RejectionReason(Provider provider, TokenFamilyState state, bool replay)
    {
        if (replay) return "invalid_grant_after_replay";
        if (provider.Options.RefreshTokenLifetime is { } lifetime && state.RefreshTokenReceivedAt is { } received
            && time.GetUtcNow() - received >= lifetime)
            return "refresh_token_expired";
        return PossibleTheftReason;
    }

    private enum RefreshCause { Expiring, Forced, Ahead, KeepAlive }

    private async Task RunPersist()
    {
        try
        {
            await _gate.WaitAsync();
            try
            {
                if (_unpersisted) await PersistRotation();
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            _refreshInFlight = null;
        }
    }

    private async Task RunRefresh(Provider provider, RefreshCause cause)
    {
        using var activity = BrokerActivity.Source.StartActivity("broker.family.refresh");
        activity?.SetTag("broker.provider", _key.Provider.Value);
        activity?.SetTag("broker.family", _logId);
        activity?.SetTag("broker.refresh.cause", cause.ToString());
        // Taken before the gate: if anything changed the tokens while this waited, that change is the answer.
        var generation = State.Generation;
        try
        {
            await _gate.WaitAsync();
            try
            {
                await RefreshFenced(provider, cause, generation);
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            _refreshInFlight = null;
        }
    }

    /// <summary>The fenced refresh: see the README, "Refresh".</summary>
    private async Task RefreshFenced(Provider provider, RefreshCause cause, long generationAtStart)
    {
        if (_unpersisted)
        {
            await PersistRotation();
            return;
        }

        while (true)
        {
            var state = State;
            // Another activation may have refreshed while this one waited: its token is the answer.
            if (state.Generation != generationAtStart && TryServe(TimeSpan.Zero, TokenSource.Cache) is not null) return;
            if (state.Status != FamilyStatus.Active || state.RefreshToken is null) return; // reported by NotServable

            var now = time.GetUtcNow();
            var replay = false;
            if (state.Intent is { } intent && intent.Owner != _activation)
            {
                if (now - intent.StartedAt < _options.RefreshLease)
                {
                    // Another activation is refreshing right now: wait for its result instead of racing it.
                    await Task.Delay(_options.IntentPollInterval, time);
                    await stored.ReadStateAsync();
                    continue;
                }
                // Its holder died mid-refresh: the server may or may not have rotated the token.
                if (now - intent.StartedAt >= provider.Options.RefreshTokenReuseLeeway)
                {
                    await MarkOutcomeUnknown("an earlier refresh was interrupted and the provider allows no reuse of its refresh token");
                    return;
                }
                replay = true;
            }

            if (await Throttle(provider).TryAcquire() is { } wait)
            {
                throw new BrokerException(BrokerErrorReason.Throttled,
                    $"token requests of this client at provider '{provider.Name}' are over their budget.", wait);
            }

            state.Intent = new RefreshIntent(_activation, state.Generation + 1, replay ? state.Intent!.StartedAt : now);
            try
            {
                await stored.WriteStateAsync();
            }
            catch (InconsistentStateException)
            {
                // Lost the race for the fence: someone else changed the family. Look again.
                LogFenceLost(logger, _logId);
                await stored.ReadStateAsync();
                continue;
            }

            await SendRefresh(provider, state, replay);
            return;
        }
    }

    private async Task SendRefresh(Provider provider, TokenFamilyState state, bool replay)
    {
        var refreshToken = Open(state.RefreshToken!, "refresh_token");
        var started = time.GetTimestamp();
        TokenEndpointOutcome outcome;
        try
        {
            var metadata = await metadataStore.GetAsync(provider);
            outcome = await tokenEndpoint.RefreshAsync(provider, metadata, refreshToken, state.Scopes);
            // Within the provider's reuse leeway, a lost answer may be retried with the same token.
            if (outcome is TokenEndpointOutcome.OutcomeUnknown
                && time.GetUtcNow() - state.Intent!.StartedAt < provider.Options.RefreshTokenReuseLeeway)
            {
                LogReplayWithinLeeway(logger, _logId);
                replay = true;
                outcome = await tokenEndpoint.RefreshAsync(provider, metadata, refreshToken, state.Scopes);
            }
        }
        catch (BrokerException)
        {
            // Metadata unavailable: nothing was sent.
            await ClearIntent("metadata_unavailable");
            throw;
        }
        var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
        System.Diagnostics.Activity.Current?.SetTag("broker.refresh.outcome", outcome.Kind);
        LogRefreshed(logger, _logId, _key.Provider.Value, outcome.Kind, elapsed);
        metrics.UpstreamRequest(_key.Provider.Value, "refresh_token", outcome.Kind, elapsed);

        switch (outcome)
        {
            case TokenEndpointOutcome.Issued issued:
                Apply(state, issued.Tokens);
                if (issued.Tokens.RefreshToken is not null) Supersede(state, refreshToken);
                state.Intent = null;
                state.RefreshCount++;
                state.LastRefreshAt = time.GetUtcNow();
                state.LastRefreshOutcome = "issued";
                _unpersisted = true;
                metrics.PersistencePending(+1);
                await PersistRotation();
                return;

            case TokenEndpointOutcome.Rejected { Error: "invalid_grant" }:
                state.Status = FamilyStatus.ReauthorizationRequired;
                state.StatusReason = RejectionReason(provider, state, replay);
                state.Intent = null;
                state.LastRefreshOutcome = "invalid_grant";
                metrics.ReauthorizationRequired(_key.Provider.Value, state.StatusReason);
                if (state.StatusReason == PossibleTheftReason)
                {
                    // The broker had never sent this token, so a rejection that is not expiry means someone
                    // else redeemed it (RFC 9700 §4.14.2). The server cannot tell us who: a human must look.
                    LogRefreshTokenRejected(logger, _logId, _key.Provider.Value);
                }
                await WriteFenced(_ => { });
                throw NotServable();

            case TokenEndpointOutcome.Rejected rejected:
                await ClearIntent(rejected.Error);
                throw new BrokerException(BrokerErrorReason.ProviderRejected,
                    $"the provider rejected the refresh request with '{rejected.Error}'.") { Detail = rejected.Error };

            case TokenEndpointOutcome.Throttled throttled:
                await Throttle(provider).Backoff(throttled.RetryAfter);
                await ClearIntent("throttled");
                throw new BrokerException(BrokerErrorReason.Throttled,
                    "the provider asks the broker to slow down.", throttled.RetryAfter);

            case TokenEndpointOutcome.NotSent notSent:
                await ClearIntent("not_sent");
                throw new BrokerException(BrokerErrorReason.ProviderUnavailable,
                    $"the provider could not be reached: {notSent.Why}", TimeSpan.FromSeconds(5));

            case TokenEndpointOutcome.OutcomeUnknown unknown:
                await MarkOutcomeUnknown(unknown.Why);
                return;
        }
    }

    /// <summary>
    /// A refresh whose answer was lost may have rotated the token at the server; sending the old one again
    /// would look like theft and revoke the family. So stop, keep any access token still valid for later
    /// callers whose buffer it meets, and fail this refresh: its caller asked for a new token.
    /// </summary>
    private async Task MarkOutcomeUnknown(string why)
    {
        State.Status = FamilyStatus.ReauthorizationRequired;
        State.StatusReason = RefreshOutcomeUnknownReason;
        State.LastRefreshOutcome = RefreshOutcomeUnknownReason;
        State.Intent = null;
        metrics.ReauthorizationRequired(_key.Provider.Value, RefreshOutcomeUnknownReason);
        LogOutcomeUnknown(logger, _logId, _key.Provider.Value, why);
        await WriteFenced(_ => { });
        throw NotServable();
    }

    private async Task ClearIntent(string outcome)
    {
        State.Intent = null;
        State.LastRefreshOutcome = outcome;
        await WriteFenced(_ => { });
    }

    /// <summary>
    /// Makes rotated tokens durable before anyone sees them. On failure the new state stays in memory (the
    /// old refresh token is spent and must never be sent again) and the write is retried, here and by a
    /// timer, while the activation is kept alive.
    /// </summary>
    private async Task PersistRotation()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteFenced(_ => { });
                _unpersisted = false;
                metrics.PersistencePending(-1);
                return;
            }
            catch (Exception ex) when (ex is not BrokerException)
            {
                LogPersistFailed(logger, _logId, attempt, ex.GetType().Name);
                DelayDeactivation(TimeSpan.FromMinutes(10));
                if (attempt >= _options.PersistAttemptsPerCall)
                {
                    ScheduleBackgroundPersist();
                    throw new BrokerException(BrokerErrorReason.ProviderUnavailable,
                        "new tokens could not be stored yet; the broker keeps trying.", _options.PersistRetryDelay);
                }
                await Task.Delay(_options.PersistRetryDelay, time);
            }
        }
    }

    private IGrainTimer? _persistTimer;

    private void ScheduleBackgroundPersist()
    {
        _persistTimer ??= this.RegisterGrainTimer(async _ =>
        {
            if (!_unpersisted) return;
            await _gate.WaitAsync();
            try
            {
                if (_unpersisted) await PersistRotation();
            }
            catch (BrokerException)
            {
                // Still failing; the next tick tries again.
            }
            finally
            {
                _gate.Release();
            }
        }, 0, _options.PersistRetryDelay, _options.PersistRetryDelay);
    }

    /// <summary>
    /// Applies a change and writes it with the storage's compare-and-set. When the stored version moved on
    /// (another activation wrote), re-read and apply the change again on top of what is stored, keeping this
    /// activation's view of the tokens: for changes that decide them (a refresh, an authorization, a revocation).
    /// </summary>
    private Task WriteFenced(Action<TokenFamilyState> change) => WriteWithRetry(change, keepOurTokens: true);

    /// <summary>
    /// For changes that do not decide the tokens (a status, a re-seal): on a conflict the change is made again on
    /// what is stored, so tokens another activation rotated meanwhile are kept, never overwritten by ours.
    /// </summary>
    private Task WriteOnStored(Action<TokenFamilyState> change) => WriteWithRetry(change, keepOurTokens: false);

    private async Task WriteWithRetry(Action<TokenFamilyState> change, bool keepOurTokens)
    {
        change(State);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await stored.WriteStateAsync();
                return;
            }
            catch (InconsistentStateException) when (attempt < 3)
            {
                var mine = keepOurTokens ? Snapshot(State) : null;
                await stored.ReadStateAsync();
                if (mine is not null) Restore(State, mine);
                else _plainAccessToken = null;
                change(State);
            }
        }
    }

    private void ResealUnderPrimary(TokenFamilyState state)
    {
        if (state.AccessToken is { } a && protector.NeedsReencryption(a)) state.AccessToken = Seal(Open(a, "access_token"), "access_token");
        if (state.RefreshToken is { } r && protector.NeedsReencryption(r)) state.RefreshToken = Seal(Open(r, "refresh_token"), "refresh_token");
        if (state.IdToken is { } i && protector.NeedsReencryption(i)) state.IdToken = Seal(Open(i, "id_token"), "id_token");
    }

    private static TokenFamilyState Snapshot(TokenFamilyState s) => new()
    {
        Status = s.Status, AccessToken = s.AccessToken, TokenType = s.TokenType, AccessTokenIssuedAt = s.AccessTokenIssuedAt,
        AccessTokenExpiresAt = s.AccessTokenExpiresAt, RefreshToken = s.RefreshToken, IdToken = s.IdToken, Scopes = s.Scopes,
        Generation = s.Generation, Intent = s.Intent, SupersededRefreshTokens = [.. s.SupersededRefreshTokens],
        RefreshCount = s.RefreshCount, LastRefreshAt = s.LastRefreshAt, LastRefreshOutcome = s.LastRefreshOutcome,
        StatusReason = s.StatusReason, RefreshTokenReceivedAt = s.RefreshTokenReceivedAt,
    };

    // Our view wins for what this activation decided; the stored generation is carried forward so it only grows.
    private static void Restore(TokenFamilyState target, TokenFamilyState mine)
    {
        var generation = Math.Max(target.Generation, mine.Generation);
        var superseded = target.SupersededRefreshTokens.Union(mine.SupersededRefreshTokens).ToList();
        var refreshCount = Math.Max(target.RefreshCount, mine.RefreshCount);
        target.Status = mine.Status; target.AccessToken = mine.AccessToken; target.TokenType = mine.TokenType;
        target.AccessTokenIssuedAt = mine.AccessTokenIssuedAt; target.AccessTokenExpiresAt = mine.AccessTokenExpiresAt;
        target.RefreshToken = mine.RefreshToken; target.IdToken = mine.IdToken; target.Scopes = mine.Scopes;
        target.Generation = generation; target.Intent = mine.Intent; target.SupersededRefreshTokens = superseded;
        target.RefreshCount = refreshCount; target.LastRefreshAt = mine.LastRefreshAt;
        target.LastRefreshOutcome = mine.LastRefreshOutcome; target.StatusReason = mine.StatusReason;
        target.RefreshTokenReceivedAt = mine.RefreshTokenReceivedAt;
    }

    private void Apply(TokenFamilyState state, TokenSet tokens)
    {
        state.Generation++;
        state.AccessToken = Seal(tokens.AccessToken, "access_token");
        state.TokenType = tokens.TokenType;
        state.AccessTokenIssuedAt = time.GetUtcNow();
        state.AccessTokenExpiresAt = tokens.ExpiresAt;
        state.Scopes = tokens.Scopes;
        // RFC 6749 §6: a refresh response without a refresh token leaves the old one in force.
        if (tokens.RefreshToken is not null)
        {
            state.RefreshToken = Seal(tokens.RefreshToken, "refresh_token");
            state.RefreshTokenReceivedAt = time.GetUtcNow();
        }
        if (tokens.IdToken is not null) state.IdToken = Seal(tokens.IdToken, "id_token");
    }

    private void Supersede(TokenFamilyState state, string refreshToken)
    {
        state.SupersededRefreshTokens.Add(fingerprints.Of(refreshToken));
        var excess = state.SupersededRefreshTokens.Count - _options.SupersededTokenHistory;
        if (excess > 0) state.SupersededRefreshTokens.RemoveRange(0, excess);
    }

    private string Context(string field) => $"family/{this.GetPrimaryKeyString()}/{field}";
    private ProtectedSecret Seal(string secret, string field) => protector.Protect(secret, Context(field));
    private string Open(ProtectedSecret secret, string field) => protector.Unprotect(secret, Context(field));

    private string? TryOpen(ProtectedSecret secret, string field)
    {
        try
        {
            return Open(secret, field);
        }
        catch (BrokerException ex) when (IsTampering(ex)) // a key this silo lacks still fails the call
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Critical, Message = "SECURITY: family {Family} at {Provider}: stored secrets failed to decrypt (altered, or moved from another record). The family is marked reauthorization_required/state_unreadable; its stored ciphertext is kept.")]
    private static partial void LogStateUnreadable(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Family {Family} at {Provider} stored tokens from an authorization.")]
    private static partial void LogAuthorized(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Family {Family} at {Provider}: refresh ended {Outcome} in {ElapsedMs} ms.")]
    private static partial void LogRefreshed(ILogger logger, string family, string provider, string outcome, double elapsedMs);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "SECURITY: family {Family} at {Provider}: the provider rejected a refresh token the broker had never sent before (invalid_grant); someone else may have used it.")]
    private static partial void LogRefreshTokenRejected(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Family {Family} at {Provider}: refresh outcome unknown ({Why}); reauthorization required.")]
    private static partial void LogOutcomeUnknown(ILogger logger, string family, string provider, string why);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Family {Family}: rotated tokens could not be persisted (attempt {Attempt}, {Error}); holding them in memory.")]
    private static partial void LogPersistFailed(ILogger logger, string family, int attempt, string error);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Debug, Message = "Family {Family}: another activation changed the family first; re-reading.")]
    private static partial void LogFenceLost(ILogger logger, string family);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Family {Family} at {Provider} revoked (upstream confirmed: {Confirmed}).")]
    private static partial void LogRevoked(ILogger logger, string family, string provider, bool confirmed);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Family {Family} at {Provider} imported tokens.")]
    private static partial void LogImported(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2100, Level = LogLevel.Critical, Message = "SECURITY: family {Family} at {Provider}: a refresh token the broker had already rotated away was presented; the family is revoked upstream and locally.")]
    private static partial void LogReuseDetected(ILogger logger, string family, string provider);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Family {Family}: background refresh ({Cause}) failed: {Reason}.")]
    private static partial void LogBackgroundRefreshFailed(ILogger logger, string family, string cause, string reason);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Family {Family}: refresh answer lost; retrying within the provider's reuse leeway.")]
    private static partial void LogReplayWithinLeeway(ILogger logger, string family);
}
