namespace Broker.Bench.Soak;

/// <summary>How long the soak runs, how many families it keeps alive, and how short their tokens live.</summary>
public sealed record SoakOptions
{
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(60);

    /// <summary>Families authorized through the real code flow before the load starts.</summary>
    public int Families { get; init; } = 300;

    /// <summary>Access token lifetime at the test authorization server: short, so refreshes flow all the time.</summary>
    public TimeSpan AccessTokenLifetime { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>The broker's expiry buffer (Broker:Families:ExpiryBuffer), below the lifetime so a token serves a while.</summary>
    public TimeSpan ExpiryBuffer { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The server's refresh token reuse leeway, told to the broker too (OpenIddict's default, 30 s; Okta, Auth0 and
    /// Keycloak have such windows). Zero: none, and a refresh in flight on a killed silo costs its family a reauthorization.
    /// </summary>
    public TimeSpan ReuseLeeway { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Share of the measured saturating rate of cache hits the soak offers.</summary>
    public double LoadShare { get; init; } = 0.5;

    public TimeSpan SaturationProbe { get; init; } = TimeSpan.FromSeconds(5);
    public int SaturationConcurrency { get; init; } = 64;

    /// <summary>How long the authorization server is unreachable (never more than a tenth of the run).</summary>
    public TimeSpan AuthorizationServerOutage { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long PostgreSQL and Redis stay down when restarted, and a killed silo stays dead.</summary>
    public TimeSpan Downtime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Length of one report row.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Calls in flight beyond which the load generator sheds (and counts) calls instead of queueing them.</summary>
    /// <remarks>
    /// Small on purpose: when the test authorization server lived in this process, thousands of queued calls starved it
    /// so that token requests timed out (outcome unknown) because of the load generator, not the broker. It has a process
    /// of its own now (<see cref="AuthorizationServerProcess"/>); the cap still keeps the generator's own queue bounded.
    /// </remarks>
    public int MaxInFlight { get; init; } = 256;

    public TimeSpan Outage => AuthorizationServerOutage < Duration / 10 ? AuthorizationServerOutage : Duration / 10;
}
