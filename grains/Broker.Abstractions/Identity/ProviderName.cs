using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Broker.Abstractions.Identity;

/// <summary>The configured name of an authorization server ("github", "contoso-entra").</summary>
[GenerateSerializer, Immutable]
public readonly partial record struct ProviderName
{
    public const int MaxLength = 64;

    [Id(0)] public string Value { get; }

    private ProviderName(string value) => Value = value;

    // Lower-case so that configuration keys, URLs and grain keys agree on one spelling.
    [GeneratedRegex(@"^[a-z0-9][a-z0-9_-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Syntax();

    public static bool TryParse([NotNullWhen(true)] string? value, out ProviderName name)
    {
        name = default;
        if (value is null || value.Length > MaxLength || !Syntax().IsMatch(value)) return false;
        name = new ProviderName(value);
        return true;
    }

    public static ProviderName Parse(string? value) => TryParse(value, out var name)
        ? name
        : throw new BrokerException(BrokerErrorReason.InvalidArgument,
            "provider must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit.");

    public override string ToString() => Value;
}
