using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broker.Client.Tests;

/// <summary>Through the public registration, as a calling service sees it.</summary>
public sealed class BrokerClientOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(Action<BrokerClientOptions> configure)
    {
        using var provider = new ServiceCollection().AddBrokerClient(configure).BuildServiceProvider();
        try
        {
            _ = provider.GetRequiredService<IOptions<BrokerClientOptions>>().Value;
            return [];
        }
        catch (OptionsValidationException ex)
        {
            return ex.Failures.ToList();
        }
    }

    [Fact]
    public void An_absolute_address_with_the_defaults_is_valid()
    {
        Assert.Empty(Failures(o => o.Address = new Uri("https://broker.internal:5300")));
    }

    [Fact]
    public void A_missing_address_is_refused_naming_the_setting()
    {
        Assert.Equal(["Broker:Client:Address is required (the broker's gRPC address)."], Failures(_ => { }));
    }

    [Fact]
    public void A_deadline_of_zero_is_refused_naming_the_setting()
    {
        Assert.Equal(["Broker:Client:Deadline must be positive (was 00:00:00)."],
            Failures(o => { o.Address = new Uri("https://broker.internal:5300"); o.Deadline = TimeSpan.Zero; }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    public void Attempts_outside_one_to_five_are_refused_naming_the_setting(int attempts)
    {
        Assert.Equal([$"Broker:Client:MaxAttempts must be 1-5 (was {attempts})."],
            Failures(o => { o.Address = new Uri("https://broker.internal:5300"); o.MaxAttempts = attempts; }));
    }

    [Fact]
    public void A_negative_handler_refresh_margin_is_refused_naming_the_setting()
    {
        Assert.Equal(["Broker:Client:HandlerRefreshBeforeExpiry must not be negative (was -00:00:01)."],
            Failures(o => { o.Address = new Uri("https://broker.internal:5300"); o.HandlerRefreshBeforeExpiry = TimeSpan.FromSeconds(-1); }));
    }
}
