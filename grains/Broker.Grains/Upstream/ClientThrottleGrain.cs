using System.Threading.RateLimiting;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Grains.Telemetry;
using Broker.OAuth.Providers;

namespace Broker.Grains.Upstream;

/// <summary>
/// A token bucket per OAuth client (System.Threading.RateLimiting), plus the provider's own "stop until"
/// from Retry-After, and the hold after a token request the provider left unanswered (<see cref="UnansweredRequestBackoff"/>). Each caller also has its own smaller bucket and a bound on the client-token keys it creates, so
/// one caller cannot spend the budget every other caller's refreshes need. In memory only: after a deactivation the
/// buckets start full and the key counts empty, which errs on the side of the provider's own limits, and a
/// Retry-After is short-lived by nature.
/// </summary>
public sealed class ClientThrottleGrain(ProviderRegistry providers, TimeProvider time, BrokerMetrics metrics) : Grain, IClientThrottleGrain
{
    public const string CallerBudget = "caller_budget";
    public const string ClientTokenKeys = "client_token_keys";

    /// <summary>How long a client-token key counts against its caller after its last token request.</summary>
    public static readonly TimeSpan KeyWindow = TimeSpan.FromHours(1);

    private readonly Dictionary<string, TokenBucketRateLimiter> _callerBuckets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, DateTimeOffset>> _callerKeys = new(StringComparer.Ordinal);
    private TokenBucketRateLimiter _bucket = null!;
    private ProviderOptions _options = null!;
    private DateTimeOffset? _blockedUntil;
    private bool _blockedByUnavailability;
    private ProviderName _provider;
    private UnansweredRequestBackoff _unanswered = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _provider = ClientKey.FromGrainKey(this.GetPrimaryKeyString()).Provider;
        _options = providers.Get(_provider).Options;
        _bucket = Bucket(_options.TokenRequestsPerMinute, _options.TokenRequestBurst);
        // The probe's window: its own timeout, and a second for the answer to be reported.
        _unanswered = new UnansweredRequestBackoff(_options.UnansweredBackoff, _options.MaxUnansweredBackoff,
            _options.TokenRequestTimeout + TimeSpan.FromSeconds(1), time);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _bucket.Dispose();
        foreach (var bucket in _callerBuckets.Values) bucket.Dispose();
        return Task.CompletedTask;
    }

    public Task<HoldBack?> TryAcquire(string? caller, string? clientTokenKey)
    {
        var now = time.GetUtcNow();
        if (_blockedUntil is { } until && until > now)
        {
            metrics.Throttled(_provider.Value, _blockedByUnavailability ? "unavailable" : "retry_after");
            return Task.FromResult<HoldBack?>(new HoldBack(until - now, _blockedByUnavailability));
        }
        // Before the budgets: a request held back here must not spend one.
        if (_unanswered.TryPass() is { } stalled)
        {
            metrics.Throttled(_provider.Value, "unanswered");
            return Task.FromResult<HoldBack?>(new HoldBack(stalled, ProviderUnavailable: true, Unanswered: true));
        }
        var held = Budgets(caller, clientTokenKey, now);
        // A probe the budgets refused was not sent: the next request may probe.
        if (held is not null) _unanswered.NotSent();
        return Task.FromResult(held);
    }

    private HoldBack? Budgets(string? caller, string? clientTokenKey, DateTimeOffset now)
    {
        Dictionary<string, DateTimeOffset>? keys = null;
        if (caller is not null)
        {
            // The caller's own limits first: what it exceeds holds back that caller only.
            keys = KeysOf(caller, now);
            if (clientTokenKey is not null && !keys.ContainsKey(clientTokenKey) && keys.Count >= _options.MaxClientTokenKeysPerCaller)
            {
                metrics.Throttled(_provider.Value, ClientTokenKeys);
                return new HoldBack(keys.Values.Min() + KeyWindow - now, false, ClientTokenKeys);
            }
            using var share = CallerBucket(caller).AttemptAcquire();
            if (!share.IsAcquired)
            {
                metrics.Throttled(_provider.Value, CallerBudget);
                return new HoldBack(RetryAfter(share), false, CallerBudget);
            }
        }
        using var lease = _bucket.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            metrics.Throttled(_provider.Value, "client_budget");
            return new HoldBack(RetryAfter(lease), ProviderUnavailable: false);
        }
        if (keys is not null && clientTokenKey is not null) keys[clientTokenKey] = now;
        return null;
    }

    public Task Backoff(TimeSpan retryAfter, bool providerUnavailable)
    {
        var until = time.GetUtcNow() + retryAfter;
        if (_blockedUntil is null || until > _blockedUntil)
        {
            _blockedUntil = until;
            _blockedByUnavailability = providerUnavailable;
        }
        _unanswered.Answered(); // a 429 or 503 is an answer
        return Task.CompletedTask;
    }

    public Task Unanswered()
    {
        _unanswered.Unanswered();
        return Task.CompletedTask;
    }

    public Task Answered()
    {
        _unanswered.Answered();
        return Task.CompletedTask;
    }

    public Task<DateTimeOffset?> BlockedUntil()
    {
        var retryAfter = _blockedUntil is { } until && until > time.GetUtcNow() ? _blockedUntil : null;
        return Task.FromResult(_unanswered.HeldUntil is { } held && (retryAfter is null || held > retryAfter) ? held : retryAfter);
    }

    /// <summary>The caller's share of the client's budget: the same shape, scaled (at least one request).</summary>
    private TokenBucketRateLimiter CallerBucket(string caller)
    {
        if (_callerBuckets.TryGetValue(caller, out var bucket)) return bucket;
        var share = _options.CallerTokenRequestShare;
        bucket = Bucket(
            Math.Max(1, (int)(_options.TokenRequestsPerMinute * share)),
            Math.Max(1, (int)(_options.TokenRequestBurst * share)));
        _callerBuckets[caller] = bucket;
        return bucket;
    }

    /// <summary>The client-token keys the caller requested tokens for within the window; older ones no longer count.</summary>
    private Dictionary<string, DateTimeOffset> KeysOf(string caller, DateTimeOffset now)
    {
        if (!_callerKeys.TryGetValue(caller, out var keys)) _callerKeys[caller] = keys = new(StringComparer.Ordinal);
        foreach (var (key, last) in keys)
        {
            if (now - last >= KeyWindow) keys.Remove(key);
        }
        return keys;
    }

    private static TokenBucketRateLimiter Bucket(int perMinute, int burst)
    {
        var perPeriod = Math.Max(1, perMinute / 60);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = perPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds(60.0 * perPeriod / perMinute),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
}
