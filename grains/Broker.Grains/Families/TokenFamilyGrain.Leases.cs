namespace Broker.Grains.Families;

/// <summary>
/// Served-token leases: a silo may hand out a family's token from its own cache for a short lease, so a cache hit
/// takes no grain call. The family, the only writer, makes every change to what it serves wait until the leases it
/// gave have ended: once a revocation, rotation, import, new authorization or mark completes, no silo serves the old
/// token. A lease is timed by the silo from before it sent the call, so it ends no later than it does here.
/// </summary>
public sealed partial class TokenFamilyGrain
{
    // The end of the last lease given, on this activation's clock. An earlier activation's leases ended before its
    // deactivation did (OnDeactivateAsync waits them out); a crashed silo's are far shorter than failure detection.
    private DateTimeOffset _leasedUntil;

    private TimeSpan Lease()
    {
        var lease = options.Value.ServedTokenLease;
        if (lease <= TimeSpan.Zero) return TimeSpan.Zero;
        var until = time.GetUtcNow() + lease;
        if (until > _leasedUntil) _leasedUntil = until;
        return lease;
    }

    private Task LeasesEnded(CancellationToken cancellationToken)
    {
        var left = _leasedUntil - time.GetUtcNow();
        return left > TimeSpan.Zero ? Task.Delay(left, time, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>Whether a silo holding the token served before could now hand out something the family would not.</summary>
    private static bool ServedTokenChanged(TokenFamilyState before, TokenFamilyState after) =>
        !Equals(before.AccessToken, after.AccessToken)
        || before.Status != after.Status
        || before.StatusReason != after.StatusReason;
}
