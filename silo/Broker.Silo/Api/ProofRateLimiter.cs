using System.Threading.RateLimiting;
using Broker.Abstractions;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Api;

/// <summary>How many DPoP proofs one caller may get from one silo: <c>Broker:Dpop</c>.</summary>
public sealed class DpopProofOptions
{
    public const string Section = "Broker:Dpop";

    /// <summary>Proofs per second one caller may get from one silo, on average.</summary>
    public int ProofsPerSecondPerCaller { get; set; } = 500;

    /// <summary>How many proofs one caller may get at once before the rate above paces it.</summary>
    public int ProofBurstPerCaller { get; set; } = 1000;
}

public sealed class DpopProofOptionsValidator : IValidateOptions<DpopProofOptions>
{
    public ValidateOptionsResult Validate(string? name, DpopProofOptions options)
    {
        var failures = new Abstractions.Settings.SettingFailures(DpopProofOptions.Section);
        if (options.ProofsPerSecondPerCaller < 1) failures.Add(nameof(options.ProofsPerSecondPerCaller), "must be at least 1.");
        if (options.ProofBurstPerCaller < 1) failures.Add(nameof(options.ProofBurstPerCaller), "must be at least 1.");
        return failures.Result;
    }
}

/// <summary>
/// A token bucket per caller for CreateProof: each proof is an ECDSA signature on the silo, so one caller's loop
/// cannot take the silo's CPU from the others. THROTTLED with the time until the next token when spent.
/// </summary>
public sealed class ProofRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public ProofRateLimiter(IOptions<DpopProofOptions> options, TimeProvider time)
    {
        var o = options.Value;
        _limiter = PartitionedRateLimiter.Create<string, string>(caller => RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = o.ProofBurstPerCaller,
            TokensPerPeriod = o.ProofsPerSecondPerCaller,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public void Take(string caller)
    {
        using var lease = _limiter.AttemptAcquire(caller);
        if (lease.IsAcquired) return;
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        throw new BrokerException(BrokerErrorReason.Throttled, $"caller '{caller}' has asked for more DPoP proofs than it may for now.", wait)
            { Detail = "dpop_proofs" };
    }

    public void Dispose() => _limiter.Dispose();
}
