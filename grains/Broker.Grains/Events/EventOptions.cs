using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Grains.Events;

/// <summary>What families emit and how often: <c>Broker:Events</c>.</summary>
public sealed class EventOptions
{
    public const string Section = "Broker:Events";

    /// <summary>
    /// Flapping control: a family emits at most one failure (family.reauthorization_required) and one recovery
    /// (family.recovered) per window; the next emitted event counts the transitions left out. Zero: emit every one.
    /// </summary>
    public TimeSpan FlappingWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Emit family.refreshed on every successful refresh. Off: it is the common case and would drown the rest.</summary>
    public bool IncludeRefreshed { get; set; }
}

public sealed class EventOptionsValidator : IValidateOptions<EventOptions>
{
    public ValidateOptionsResult Validate(string? name, EventOptions options)
    {
        var failures = new SettingFailures(EventOptions.Section);
        failures.NotNegative(nameof(options.FlappingWindow), options.FlappingWindow);
        return failures.Result;
    }
}
