using System.Threading.RateLimiting;
using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Grains.Telemetry;
using Broker.OAuth.Providers;

namespace Broker.Grains.Upstream;

/// <summary>
/// A token bucket per OAuth client (System.Threading.RateLimiting), plus the provider's own "stop until"
/// from Retry-After. In memory only: after a deactivation the bucket starts full, which errs on the side of
/// the provider's own limits, and a Retry-After is short-lived by nature.
/// </summary>
public sealed class ClientThrottleGrain(ProviderRegistry providers, TimeProvider time, BrokerMetrics metrics) : Grain, IClientThrottleGrain
{
    private TokenBucketRateLimiter _bucket = null!;
    private DateTimeOffset? _blockedUntil;
    private bool _blockedByUnavailability;
    private ProviderName _provider;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _provider = ClientKey.FromGrainKey(this.GetPrimaryKeyString()).Provider;
        var options = providers.Get(_provider).Options;
        var perPeriod = Math.Max(1, options.TokenRequestsPerMinute / 60);
        _bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.TokenRequestBurst,
            TokensPerPeriod = perPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds(60.0 * perPeriod / options.TokenRequestsPerMinute),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _bucket.Dispose();
        return Task.CompletedTask;
    }

    public Task<HoldBack?> TryAcquire()
    {
        var now = time.GetUtcNow();
        if (_blockedUntil is { } until && until > now)
        {
            metrics.Throttled(_provider.Value, _blockedByUnavailability ? "unavailable" : "retry_after");
            return Task.FromResult<HoldBack?>(new HoldBack(until - now, _blockedByUnavailability));
        }
        using var lease = _bucket.AttemptAcquire();
        if (lease.IsAcquired) return Task.FromResult<HoldBack?>(null);
        metrics.Throttled(_provider.Value, "client_budget");
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        return Task.FromResult<HoldBack?>(new HoldBack(wait, ProviderUnavailable: false));
    }

    public Task Backoff(TimeSpan retryAfter, bool providerUnavailable)
    {
        var until = time.GetUtcNow() + retryAfter;
        if (_blockedUntil is null || until > _blockedUntil)
        {
            _blockedUntil = until;
            _blockedByUnavailability = providerUnavailable;
        }
        return Task.CompletedTask;
    }

    public Task<DateTimeOffset?> BlockedUntil() =>
        Task.FromResult(_blockedUntil is { } until && until > time.GetUtcNow() ? _blockedUntil : null);
}
