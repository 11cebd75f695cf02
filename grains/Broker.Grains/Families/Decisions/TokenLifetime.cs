namespace Broker.Grains.Families;

/// <summary>When a held access token is still good enough to hand out.</summary>
public static class TokenLifetime
{
    /// <summary>
    /// When a token's lifetime started: the token endpoint's answer (its expires_in counts from there), not when a grain
    /// took the tokens, which for an authorization can be well after (they wait for the user's claim). Without a usable
    /// answer time (an import), now.
    /// </summary>
    public static DateTimeOffset StartOf(DateTimeOffset? answered, DateTimeOffset expiresAt, DateTimeOffset now) =>
        answered is { } at && at <= now && at <= expiresAt ? at : now;

    /// <summary>
    /// True when the token stays valid for the caller's buffer. A token that lives shorter than twice that
    /// buffer would be refreshed on every call, so the buffer is capped at half the token's lifetime.
    /// </summary>
    public static bool IsFreshEnough(DateTimeOffset issuedAt, DateTimeOffset expiresAt, DateTimeOffset now, TimeSpan minTimeToLive)
    {
        var halfLife = (expiresAt - issuedAt) / 2;
        var needed = minTimeToLive < halfLife ? minTimeToLive : halfLife;
        return expiresAt > now && expiresAt - now > needed;
    }
}
