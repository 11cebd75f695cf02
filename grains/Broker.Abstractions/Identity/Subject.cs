using System.Diagnostics.CodeAnalysis;

namespace Broker.Abstractions.Identity;

/// <summary>The calling service's stable identifier for the user on whose behalf tokens are held.</summary>
[GenerateSerializer, Immutable]
public readonly record struct Subject
{
    public const int MaxLength = 256;

    [Id(0)] public string Value { get; }

    private Subject(string value) => Value = value;

    // Visible ASCII only: subjects end up in grain keys, logs (hashed) and URLs, where
    // whitespace, controls and look-alike Unicode only cause trouble.
    public static bool TryParse([NotNullWhen(true)] string? value, out Subject subject)
    {
        subject = default;
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength) return false;
        foreach (var c in value)
        {
            if (c is < '!' or > '~') return false;
        }
        subject = new Subject(value);
        return true;
    }

    public static Subject Parse(string? value) => TryParse(value, out var subject)
        ? subject
        : throw new BrokerException(BrokerErrorReason.InvalidArgument,
            $"subject must be 1-{MaxLength} visible ASCII characters.");

    public override string ToString() => Value;
}
