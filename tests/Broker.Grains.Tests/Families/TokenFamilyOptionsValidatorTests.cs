using Broker.Grains.Families;

namespace Broker.Grains.Tests.Families;

public sealed class TokenFamilyOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(TokenFamilyOptions options) =>
        new TokenFamilyOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.Empty(Failures(new TokenFamilyOptions()));
    }

    [Fact]
    public void No_forced_refresh_interval_and_no_jitter_are_allowed()
    {
        // What the grain tests run with: every forced refresh goes upstream, refresh-ahead at a fixed point.
        Assert.Empty(Failures(new TokenFamilyOptions { MinForcedRefreshInterval = TimeSpan.Zero, RefreshAheadJitter = 0 }));
    }

    [Fact]
    public void A_refresh_lease_of_zero_is_refused_naming_the_setting()
    {
        var failure = Assert.Single(Failures(new TokenFamilyOptions { RefreshLease = TimeSpan.Zero, IntentPollInterval = TimeSpan.FromMilliseconds(100) }),
            f => f.StartsWith("Broker:Families:RefreshLease "));

        Assert.Equal("Broker:Families:RefreshLease must be positive (was 00:00:00).", failure);
    }

    [Fact]
    public void An_intent_poll_interval_of_zero_is_refused_naming_the_setting()
    {
        Assert.Contains(Failures(new TokenFamilyOptions { IntentPollInterval = TimeSpan.Zero }),
            f => f.StartsWith("Broker:Families:IntentPollInterval must be positive"));
    }

    [Fact]
    public void A_poll_interval_as_long_as_the_lease_is_refused_naming_both_settings()
    {
        var failure = Assert.Single(Failures(new TokenFamilyOptions
        {
            RefreshLease = TimeSpan.FromSeconds(5),
            IntentPollInterval = TimeSpan.FromSeconds(5),
        }));

        Assert.StartsWith("Broker:Families:IntentPollInterval must be shorter than Broker:Families:RefreshLease", failure);
    }

    [Fact]
    public void A_negative_forced_refresh_interval_is_refused_naming_the_setting()
    {
        Assert.Contains(Failures(new TokenFamilyOptions { MinForcedRefreshInterval = TimeSpan.FromSeconds(-1) }),
            f => f.StartsWith("Broker:Families:MinForcedRefreshInterval must not be negative"));
    }

    [Fact]
    public void An_empty_superseded_token_history_is_refused_naming_the_setting()
    {
        Assert.Contains(Failures(new TokenFamilyOptions { SupersededTokenHistory = 0 }),
            f => f == "Broker:Families:SupersededTokenHistory must be at least 1 (was 0).");
    }

    [Fact]
    public void A_negative_expiry_buffer_is_refused_naming_the_setting()
    {
        Assert.Contains(Failures(new TokenFamilyOptions { ExpiryBuffer = TimeSpan.FromMinutes(-1) }),
            f => f.StartsWith("Broker:Families:ExpiryBuffer must not be negative"));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void A_jitter_outside_zero_to_one_is_refused_naming_the_setting(double jitter)
    {
        Assert.Contains(Failures(new TokenFamilyOptions { RefreshAheadJitter = jitter }),
            f => f.StartsWith("Broker:Families:RefreshAheadJitter must be at least 0 and below 1"));
    }

    [Fact]
    public void A_persist_retry_delay_of_zero_is_refused_naming_the_setting()
    {
        Assert.Contains(Failures(new TokenFamilyOptions { PersistRetryDelay = TimeSpan.Zero }),
            f => f.StartsWith("Broker:Families:PersistRetryDelay must be positive"));
    }

    [Fact]
    public void Zero_persist_attempts_per_call_are_refused_naming_the_setting()
    {
        Assert.Contains(Failures(new TokenFamilyOptions { PersistAttemptsPerCall = 0 }),
            f => f == "Broker:Families:PersistAttemptsPerCall must be at least 1 (was 0).");
    }

    [Fact]
    public void Every_wrong_setting_is_reported_at_once()
    {
        var failures = Failures(new TokenFamilyOptions { SupersededTokenHistory = 0, PersistAttemptsPerCall = 0, RefreshAheadJitter = 2 });

        Assert.Equal(3, failures.Count);
    }
}
