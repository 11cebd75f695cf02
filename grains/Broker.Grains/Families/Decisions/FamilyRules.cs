using Broker.OAuth.Providers;

namespace Broker.Grains.Families;

/// <summary>The timing and policy a family's decisions follow: the broker's family options and its provider's quirks.</summary>
public sealed record FamilyRules
{
    public TimeSpan RefreshLease { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan IntentPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MinForcedRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);
    public int SupersededTokenHistory { get; init; } = 64;
    public bool RefreshAhead { get; init; } = true;
    public TimeSpan ExpiryBuffer { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Share of a token's lifetime added to the refresh-ahead point: the option's jitter times a random draw per activation.</summary>
    public double RefreshAheadSpread { get; init; }

    /// <summary>How long the provider accepts a refresh token again after redeeming it (0: never).</summary>
    public TimeSpan ReuseLeeway { get; init; }

    /// <summary>How long a token request may take (the provider's TokenRequestTimeout): a replay's transit, in the leeway's terms.</summary>
    public TimeSpan TokenRequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan? RefreshTokenLifetime { get; init; }
    public TimeSpan? KeepAliveInterval { get; init; }

    /// <summary>Revoke the grant a new authorization replaces; off at providers whose grants per user and client are one.</summary>
    public bool RevokeReplacedGrant { get; init; } = true;

    /// <summary>Flapping control: at most one failure and one recovery event per window (zero: every transition is emitted).</summary>
    public TimeSpan NoticeWindow { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Emit family.refreshed on every successful refresh (off by default: it is the common case).</summary>
    public bool NoticeRefreshes { get; init; }

    /// <summary>The rules for one activation; <paramref name="draw"/> in [0, 1) spreads refresh-ahead across families.</summary>
    public static FamilyRules For(TokenFamilyOptions family, ProviderOptions? provider, double draw, Events.EventOptions? events = null) => new()
    {
        NoticeWindow = (events ?? new Events.EventOptions()).FlappingWindow,
        NoticeRefreshes = (events ?? new Events.EventOptions()).IncludeRefreshed,
        RefreshLease = Lease(family.RefreshLease, provider?.RefreshTokenReuseLeeway ?? TimeSpan.Zero,
            provider?.TokenRequestTimeout ?? new ProviderOptions().TokenRequestTimeout),
        IntentPollInterval = family.IntentPollInterval,
        MinForcedRefreshInterval = family.MinForcedRefreshInterval,
        SupersededTokenHistory = family.SupersededTokenHistory,
        RefreshAhead = family.RefreshAhead,
        ExpiryBuffer = family.ExpiryBuffer,
        RefreshAheadSpread = family.RefreshAheadJitter * draw,
        ReuseLeeway = provider?.RefreshTokenReuseLeeway ?? TimeSpan.Zero,
        TokenRequestTimeout = provider?.TokenRequestTimeout ?? new ProviderOptions().TokenRequestTimeout,
        RefreshTokenLifetime = provider?.RefreshTokenLifetime,
        KeepAliveInterval = provider?.KeepAliveInterval,
        RevokeReplacedGrant = provider?.RevokeReplacedGrant ?? true,
    };

    /// <summary>
    /// A survivor may replay a dead activation's refresh only after the lease, and only while the replay can still arrive
    /// inside the leeway (<see cref="CanReplay"/>): with a leeway, the lease ends by half of it, or a lease as long as the
    /// leeway (30 s each by default) leaves no time to replay; and by half of what the request timeout leaves of it.
    /// </summary>
    private static TimeSpan Lease(TimeSpan lease, TimeSpan leeway, TimeSpan timeout)
    {
        if (leeway <= TimeSpan.Zero) return lease;
        if (lease > leeway / 2) lease = leeway / 2;
        // With a timeout as long as the leeway no replay is ever safe: the lease stays as it is, and the survivor says so.
        if (lease + timeout >= leeway && leeway > timeout) lease = (leeway - timeout) / 2;
        return lease;
    }

    /// <summary>
    /// Whether a refresh whose intent started at <paramref name="intentStart"/> may be sent again now: only if it can
    /// arrive inside the provider's reuse leeway, counting the token request timeout for its transit. The leeway runs from
    /// the server's first redemption, which is no earlier than the intent, so counting from the intent errs on the safe side.
    /// </summary>
    public bool CanReplay(DateTimeOffset intentStart, DateTimeOffset now) => now - intentStart + TokenRequestTimeout < ReuseLeeway;
}

/// <summary>Where and when a decision is made.</summary>
public readonly record struct FamilyContext(DateTimeOffset Now, Guid Activation, FamilyRules Rules, string Provider);

/// <summary>The answer to one event: the state to hold next and what to do, in order.</summary>
public sealed record FamilyDecision(TokenFamilyState State, IReadOnlyList<FamilyEffect> Effects)
{
    public T? Find<T>() where T : FamilyEffect
    {
        // A loop, not LINQ: the grain asks this on every cache hit.
        foreach (var effect in Effects)
        {
            if (effect is T found) return found;
        }
        return null;
    }
}
