using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Hosting;

/// <summary>The binder takes any number for an enum: <c>Broker:Mode=3</c> must not start a silo in no known mode.</summary>
public sealed class BrokerHostOptionsValidator : IValidateOptions<BrokerHostOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerHostOptions options)
    {
        var failures = new SettingFailures(BrokerHostOptions.Section);
        if (!Enum.IsDefined(options.Mode))
            failures.Add(nameof(options.Mode), $"must be {string.Join(" or ", Enum.GetNames<BrokerMode>())} (was {options.Mode}).");
        return failures.Result;
    }
}
