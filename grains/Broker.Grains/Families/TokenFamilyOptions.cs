namespace Broker.Grains.Families;

/// <summary>How token families refresh: <c>Broker:Families</c>.</summary>
public sealed class TokenFamilyOptions
{
    public const string Section = "Broker:Families";

    /// <summary>
    /// How long a recorded refresh intent fences off other activations. Longer than the token request's own
    /// timeout, so an intent older than this belongs to an activation that died mid-refresh.
    /// </summary>
    public TimeSpan RefreshLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an activation that found another's intent re-reads the state.</summary>
    public TimeSpan IntentPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A forced refresh within this time of the last refresh is answered with the token that refresh got.</summary>
    public TimeSpan MinForcedRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many fingerprints of superseded refresh tokens a family keeps for reuse detection.</summary>
    public int SupersededTokenHistory { get; set; } = 64;

    /// <summary>Refresh a family that is in use before callers find its token inside their expiry buffer.</summary>
    public bool RefreshAhead { get; set; } = true;

    /// <summary>
    /// The buffer callers ask for by default (the gRPC default min_ttl); refresh-ahead starts before the
    /// token enters it, plus up to <see cref="RefreshAheadJitter"/> of the token's lifetime, chosen at random
    /// per activation so that families issued together do not all refresh together.
    /// </summary>
    public TimeSpan ExpiryBuffer { get; set; } = TimeSpan.FromMinutes(5);

    public double RefreshAheadJitter { get; set; } = 0.1;

    /// <summary>Delay between attempts to persist rotated tokens when storage fails.</summary>
    public TimeSpan PersistRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times a caller waits on a failing write before it is answered UNAVAILABLE (the grain keeps trying).</summary>
    public int PersistAttemptsPerCall { get; set; } = 5;

    /// <summary>
    /// How long a silo may serve a family's (or a client token's) access token from its own cache without asking its
    /// grain (zero: never).
    /// Every change to what a family serves (revocation, rotation, import, new authorization, mark) waits out the
    /// leases it gave, so this is also the most such a change waits.
    /// </summary>
    public TimeSpan ServedTokenLease { get; set; } = TimeSpan.FromMilliseconds(200);
}
