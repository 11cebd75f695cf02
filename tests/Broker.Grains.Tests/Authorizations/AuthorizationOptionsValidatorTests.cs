using Broker.Grains.Authorizations;

namespace Broker.Grains.Tests.Authorizations;

public sealed class AuthorizationOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(TimeSpan pendingLifetime) =>
        new AuthorizationOptionsValidator().Validate(null, new AuthorizationOptions { PendingLifetime = pendingLifetime }).Failures?.ToList() ?? [];

    [Fact]
    public void The_default_pending_lifetime_is_valid()
    {
        Assert.True(new AuthorizationOptionsValidator().Validate(null, new AuthorizationOptions()).Succeeded);
    }

    [Fact]
    public void A_pending_lifetime_of_one_hour_is_allowed()
    {
        Assert.Empty(Failures(TimeSpan.FromHours(1)));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:05:00")]
    public void A_pending_lifetime_that_is_not_positive_is_refused_naming_the_setting(string lifetime)
    {
        var failure = Assert.Single(Failures(TimeSpan.Parse(lifetime)));

        Assert.Equal($"Broker:Authorizations:PendingLifetime must be positive (was {TimeSpan.Parse(lifetime)}).", failure);
    }

    [Fact]
    public void A_pending_lifetime_over_an_hour_is_refused_naming_the_setting()
    {
        var failure = Assert.Single(Failures(TimeSpan.FromHours(2)));

        Assert.Equal("Broker:Authorizations:PendingLifetime must be at most 01:00:00 (was 02:00:00).", failure);
    }
}
