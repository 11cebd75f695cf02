using Broker.Silo.Hosting;
using Broker.Testing.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Tests.Hosting;

/// <summary>Settings validated at start stop the silo before it serves anything, naming the setting.</summary>
public sealed class StartupValidationTests
{
    [Fact]
    public async Task Silo_refuses_to_start_with_a_zero_refresh_lease_naming_the_setting()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = new() { ["Broker:Families:RefreshLease"] = "00:00:00" },
        }));

        Assert.Contains("Broker:Families:RefreshLease must be positive (was 00:00:00).", ex.Failures);
    }

    [Fact]
    public async Task Every_invalid_section_is_reported_not_only_the_first()
    {
        var ex = await Record.ExceptionAsync(() => BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = new()
            {
                ["Broker:Families:PersistAttemptsPerCall"] = "0",
                ["Broker:Authorizations:PendingLifetime"] = "1.00:00:00",
            },
        }));

        var failures = InvalidSettings.From(Assert.IsType<AggregateException>(ex));
        Assert.Contains(failures, f => f.StartsWith("Broker:Families:PersistAttemptsPerCall", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Broker:Authorizations:PendingLifetime", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_mode_is_refused_naming_the_setting()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = new() { ["Broker:Mode"] = "7" },
        }));

        Assert.Contains("Broker:Mode must be Embedded or Cluster (was 7).", ex.Failures);
    }

    [Fact]
    public void Failures_unrelated_to_settings_are_not_taken_for_invalid_settings()
    {
        Assert.Empty(InvalidSettings.From(new InvalidOperationException("boom")));
        Assert.Empty(InvalidSettings.From(new AggregateException(new OptionsValidationException("x", typeof(object), ["a"]), new IOException())));
    }
}
