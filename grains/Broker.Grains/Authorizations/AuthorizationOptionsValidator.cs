using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Grains.Authorizations;

/// <summary>Stops the silo at start when a pending authorization could never complete, or would linger.</summary>
public sealed class AuthorizationOptionsValidator : IValidateOptions<AuthorizationOptions>
{
    /// <summary>A user finishes a consent screen in minutes; an unused state and PKCE verifier should not outlive that by much.</summary>
    public static readonly TimeSpan MaxPendingLifetime = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, AuthorizationOptions options)
    {
        var failures = new SettingFailures(AuthorizationOptions.Section);
        failures.Positive(nameof(options.PendingLifetime), options.PendingLifetime);
        failures.AtMost(nameof(options.PendingLifetime), options.PendingLifetime, MaxPendingLifetime);
        return failures.Result;
    }
}
