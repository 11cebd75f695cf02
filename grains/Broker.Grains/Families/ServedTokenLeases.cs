namespace Broker.Grains.Families;

/// <summary>
/// The leases a grain gave on the token it serves (<see cref="Broker.Abstractions.Tokens.AccessTokenResult.Lease"/>):
/// a silo may hand out that token from its own copy until its lease ends, so the grain, the only writer, makes every
/// change to what it serves wait until then (<see cref="Ended"/>). A silo times its lease from before it sent the call,
/// so the lease ends there no later than it does here. One rule for families and client tokens.
/// </summary>
public sealed class ServedTokenLeases(TimeProvider time, TimeSpan length)
{
    // The end of the last lease given, on this activation's clock. An earlier activation's leases ended before its
    // deactivation did (a family waits them out there; a client token that replaces one waits too); a crashed silo's are far shorter than failure detection.
    private DateTimeOffset _until;

    /// <summary>A lease on the token being handed out now (zero when leases are off). Call it in the step that reads the token.</summary>
    public TimeSpan Give()
    {
        if (length <= TimeSpan.Zero) return TimeSpan.Zero;
        var until = time.GetUtcNow() + length;
        if (until > _until) _until = until;
        return length;
    }

    /// <summary>Completes when every lease given so far has ended.</summary>
    public Task Ended(CancellationToken cancellationToken = default)
    {
        var left = _until - time.GetUtcNow();
        return left > TimeSpan.Zero ? Task.Delay(left, time, cancellationToken) : Task.CompletedTask;
    }
}
