using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.OAuth.Providers;

/// <summary>Redirect URIs are built from the public base URL: a relative one would send users nowhere.</summary>
public sealed class RedirectOptionsValidator : IValidateOptions<RedirectOptions>
{
    public ValidateOptionsResult Validate(string? name, RedirectOptions options)
    {
        var failures = new SettingFailures(RedirectOptions.Section);
        if (options.PublicBaseUrl is { } url
            && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)))
            failures.Add(nameof(options.PublicBaseUrl), $"must be an absolute http or https URL (was '{url}').");
        return failures.Result;
    }
}
