using Microsoft.Extensions.Options;

namespace Broker.Abstractions.Settings;

/// <summary>
/// What is wrong with one options section. Every message starts with the full setting path
/// (<c>Broker:Families:RefreshLease</c>) and says the value it saw, so an operator knows which line to fix.
/// </summary>
public sealed class SettingFailures(string section)
{
    private readonly List<string> _failures = [];

    public string Path(string setting) => $"{section}:{setting}";

    /// <summary>Adds "<c>{section}:{setting} {problem}</c>".</summary>
    public void Add(string setting, string problem) => _failures.Add($"{Path(setting)} {problem}");

    public void Positive(string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero) Add(setting, $"must be positive (was {value}).");
    }

    public void NotNegative(string setting, TimeSpan value)
    {
        if (value < TimeSpan.Zero) Add(setting, $"must not be negative (was {value}).");
    }

    public void AtMost(string setting, TimeSpan value, TimeSpan maximum)
    {
        if (value > maximum) Add(setting, $"must be at most {maximum} (was {value}).");
    }

    public void AtLeast(string setting, int value, int minimum)
    {
        if (value < minimum) Add(setting, $"must be at least {minimum} (was {value}).");
    }

    public ValidateOptionsResult Result =>
        _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);
}
