using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Abstractions.Tokens;
using Broker.Grains.Protection;
using Broker.Grains.Storage;
using Broker.Grains.Telemetry;
using Broker.Grains.Upstream;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using static Broker.Grains.Families.FamilyEffect;

namespace Broker.Grains.Families;

/// <summary>
/// Holds one token family and is the only thing that refreshes it. A thin adapter: it feeds events to
/// <see cref="TokenFamilyDecisions"/> and carries out the effects through the fenced store, the one upstream
/// path and the reminder service. Reentrant so that cache hits are served while a refresh awaits the server;
/// every change goes through the store's lock, and callers that need a refresh join the one in flight.
/// </summary>
[Reentrant]
public sealed partial class TokenFamilyGrain(
    [PersistentState("family", BrokerStorage.Name)] IPersistentState<TokenFamilyState> stored,
    ProviderRegistry providers,
    UpstreamTokenRequests upstream,
    SecretProtector protector,
    TokenFingerprint fingerprints,
    StoredStateLedger ledger,
    TimeProvider time,
    IOptions<TokenFamilyOptions> options,
    BrokerMetrics metrics,
    FamilyEvents events,
    ILogger<TokenFamilyGrain> logger) : Grain, ITokenFamilyGrain, IRemindable, IFencedStateOwner
{
    private const string KeepAliveReminder = "keep-alive";
    private readonly Guid _activation = Guid.NewGuid();
    private FamilyKey _key;
    private string _logId = "";
    private FamilyRules _rules = null!;
    private FencedState<TokenFamilyState> _store = null!;
    private FamilySecrets _secrets = null!;
    private FamilyTelemetry _telemetry = null!;
    private Task? _refreshInFlight;
    private ServedTokenLeases _leases = null!;

    private TokenFamilyState State => _store.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = FamilyKey.FromGrainKey(this.GetPrimaryKeyString());
        _logId = ServiceProvider.GetRequiredService<FamilyLogId>().Of(_key);
        var family = options.Value;
        _rules = FamilyRules.For(family, providers.TryGet(_key.Provider, out var provider) ? provider.Options : null, Random.Shared.NextDouble(),
            events.Options);
        var grainId = this.GetGrainId();
        _store = new FencedState<TokenFamilyState>(stored, s => s.Upgraded(), TokenFamilyState.MergeAfterLostWrite, () => ledger.TakeRefusal(grainId),
            this, time, new DurableWriteRetry(family.PersistRetryDelay, family.PersistAttemptsPerCall), metrics, logger, $"family {_logId}");
        _secrets = new FamilySecrets(protector, fingerprints, this.GetPrimaryKeyString());
        _telemetry = new FamilyTelemetry(metrics, logger, _key.Provider.Value, _logId);
        _leases = new ServedTokenLeases(time, family.ServedTokenLease);
        if (_store.Refusal is { } refused && FamilySecrets.IsTampering(refused))
        {
            try
            {
                // Before any call acts on it: whichever call comes first then sees a marked family.
                await MarkUnreadable();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Not stored yet: the refusal stays, and the first call marks it again.
            }
        }
    }

    /// <summary>
    /// A background refresh (refresh-ahead, keep-alive) is nobody's call, so a graceful stop would not wait for it and
    /// its intent would stay in the row: the next activation, on another silo, would wait out the lease and then, with
    /// no reuse leeway, need reauthorization. Finish it, and store its answer, within the time the deactivation has.
    /// </summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            if (_refreshInFlight is { IsCompleted: false } refresh) await refresh.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Out of time: the intent stays, and the lease rule decides what the next activation does.
        }
        catch (Abstractions.BrokerException)
        {
            // The refresh failed; what it decided is already stored.
        }
        try
        {
            // The next activation (on any silo) must not change what is served while a silo may still serve this one's answer.
            await _leases.Ended(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Out of time: a lease is at most ServedTokenLease (seconds at most), far below failure detection.
        }
        finally
        {
            _secrets?.Dispose();
        }
    }

    public Task<AccessTokenResult> GetAccessToken(TimeSpan minTimeToLive, bool forceRefresh) => Answer(minTimeToLive, forceRefresh, leased: false);

    public Task<AccessTokenResult> LeaseAccessToken(TimeSpan minTimeToLive) => Answer(minTimeToLive, forceRefresh: false, leased: true);

    private async Task<AccessTokenResult> Answer(TimeSpan minTimeToLive, bool forceRefresh, bool leased)
    {
        try
        {
            _store.ThrowIfRefused();
            return await Serve(minTimeToLive, forceRefresh, leased);
        }
        catch (Abstractions.BrokerException ex) when (FamilySecrets.IsTampering(ex))
        {
            await MarkUnreadable();
            throw;
        }
    }

    private async Task<AccessTokenResult> Serve(TimeSpan minTimeToLive, bool forceRefresh, bool leased)
    {
        if (_store.HasPendingWrite)
        {
            // Rotated tokens wait to be stored: store them, never refresh again meanwhile.
            await JoinOrStart(FlushPendingWrite);
            return Settle(State.Generation, leased);
        }

        var decision = Decide(new FamilyEvent.Asked(minTimeToLive, forceRefresh));
        if (decision.Find<Serve>() is { } serve)
        {
            if (decision.Find<RefreshInBackground>() is { } ahead) StartInBackground(ahead.Cause);
            return Hand(serve.Source, leased && decision.Find<RefreshInBackground>() is null);
        }
        if (decision.Find<Fail>() is { } refused) throw refused.Error;
        providers.Get(_key.Provider); // an unknown provider is the caller's answer, before any wait
        var generationBefore = State.Generation;
        var cause = decision.Find<Refresh>()!.Cause;
        await JoinOrStart(() => RunRefresh(cause));
        return Settle(generationBefore, leased);
    }

    private AccessTokenResult Settle(long generationBefore, bool leased)
    {
        var decision = Decide(new FamilyEvent.RefreshSettled(generationBefore));
        if (decision.Find<Fail>() is { } fail) throw fail.Error;
        return Hand(decision.Find<Serve>()!.Source, leased);
    }

    /// <summary>
    /// The token as it is now. A lease is recorded here, in the same synchronous step that reads the state: a change
    /// that interleaves after this point (the grain is reentrant) sees the lease and waits it out.
    /// </summary>
    private AccessTokenResult Hand(TokenSource source, bool leased = false)
    {
        var state = State;
        var lease = leased && !_store.HasPendingWrite ? _leases.Give() : TimeSpan.Zero;
        var token = new AccessTokenResult(_secrets.AccessToken(state.AccessToken!), state.TokenType, state.AccessTokenExpiresAt, state.Scopes, source)
        {
            IssuedAt = state.AccessTokenIssuedAt,
            Lease = lease,
        };
        _telemetry.Served(source);
        return token;
    }

    /// <summary>Single flight: join the refresh (or pending write) in flight in this activation, or start one.</summary>
    private Task JoinOrStart(Func<Task> start)
    {
        if (_refreshInFlight is { IsCompleted: false } running) return running;
        var started = start();
        _refreshInFlight = started;
        return started;
    }

    private void StartInBackground(RefreshCause cause)
    {
        if (_refreshInFlight is { IsCompleted: false } || !providers.TryGet(_key.Provider, out _)) return;
        _refreshInFlight = RunInBackground(cause);
    }

    private async Task RunInBackground(RefreshCause cause)
    {
        try
        {
            await RunRefresh(cause);
        }
        catch (Abstractions.BrokerException ex)
        {
            // The token in hand is still valid; the next caller that needs a new one will see the failure.
            _telemetry.BackgroundRefreshFailed(cause, ex.Reason.ToString());
        }
    }

    private async Task FlushPendingWrite()
    {
        using (await _store.LockAsync()) await _store.FlushAsync();
    }

    private async Task RunRefresh(RefreshCause cause)
    {
        using var activity = BrokerActivity.Source.StartActivity("broker.family.refresh");
        activity?.SetTag("broker.provider", _key.Provider.Value);
        activity?.SetTag("broker.family", _logId);
        activity?.SetTag("broker.refresh.cause", cause.ToString());
        // Taken before the lock: if anything changed the tokens while this waited, that change is the answer.
        var generationAtStart = State.Generation;
        using (await _store.LockAsync())
        {
            if (_store.HasPendingWrite)
            {
                await _store.FlushAsync();
                return;
            }
            _store.ThrowIfRefused(); // a keep-alive must not send a refresh token from a row that failed authentication
            await RefreshFenced(providers.Get(_key.Provider), generationAtStart);
        }
    }

    /// <summary>The fenced refresh: see docs/architecture.md.</summary>
    private async Task RefreshFenced(Provider provider, long generationAtStart)
    {
        while (true)
        {
            var turn = new FamilyEvent.RefreshTurn(generationAtStart);
            var decision = Decide(turn);
            if (decision.Find<WaitForOtherActivation>() is { } wait)
            {
                // Another activation is refreshing right now: wait for its result instead of racing it.
                await Task.Delay(wait.Delay, time);
                await _store.RereadAsync();
                _store.ThrowIfRefused();
                continue;
            }
            if (decision.Find<ClaimAndSend>() is not { } claim)
            {
                await CarryOut(decision, turn);
                return;
            }
            await upstream.TakeBudgetAsync(provider);
            // Lost the race for the fence: someone else changed the family. Look again.
            if (!await _store.TryClaimAsync(decision.State))
            {
                _store.ThrowIfRefused();
                continue;
            }
            await Send(provider, claim.Replay);
            return;
        }
    }

    private async Task Send(Provider provider, bool replayed)
    {
        var state = State;
        var refreshToken = _secrets.RefreshToken(state.RefreshToken!);
        while (true)
        {
            // A DPoP-bound refresh token goes only with its own key (RFC 9449 §5).
            var outcome = await upstream.RefreshAsync(provider, refreshToken, state.Scopes, Prover(state), state.IsDpopBound);
            FamilyEvent answer = outcome is TokenEndpointOutcome.Issued issued
                ? new FamilyEvent.Refreshed(_secrets.Seal(issued.Tokens), _secrets.Fingerprint(refreshToken), Kept(issued.Tokens.RefreshToken, refreshToken))
                : new FamilyEvent.RefreshFailed(outcome, replayed);
            var decision = Decide(answer);
            await CarryOut(decision, answer);
            if (decision.Find<Resend>() is null) return;
            // The replay takes no budget and is not held back by the client's hold after an unanswered request, by
            // design: it is not a new refresh but the same one again, and the only chance this family has. Holding it
            // could only push it towards the end of the provider's reuse leeway, where a late arrival revokes the grant;
            // the decision already allowed it only while it can arrive inside the leeway (FamilyRules.TokenRequestTimeout).
            // The hold limits how many families a stalled provider can put in this position; it cannot rescue one that is.
            replayed = true;
        }
    }

    /// <summary>Whether the provider answered a refresh with the refresh token it was sent (compared in constant time).</summary>
    private static bool Kept(string? issued, string spent) =>
        issued is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(issued), System.Text.Encoding.UTF8.GetBytes(spent));

    void IFencedStateOwner.KeepActiveFor(TimeSpan period) => DelayDeactivation(period);

    IDisposable IFencedStateOwner.StartTimer(Func<Task> tick, TimeSpan period) =>
        this.RegisterGrainTimer(_ => tick(), period, period);
}
