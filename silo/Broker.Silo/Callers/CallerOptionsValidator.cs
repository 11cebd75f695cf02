using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Callers;

/// <summary>Names every wrong <c>Broker:Authentication</c> setting at start.</summary>
public sealed class CallerAuthenticationOptionsValidator : IValidateOptions<CallerAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, CallerAuthenticationOptions options)
    {
        var jwt = options.Jwt;
        var failures = new SettingFailures($"{CallerAuthenticationOptions.Section}:Jwt");
        if (jwt.Authority is not null && !Uri.TryCreate(jwt.Authority, UriKind.Absolute, out _))
            failures.Add(nameof(jwt.Authority), "must be an absolute URL.");
        else if (jwt.Authority is not null)
        {
            // The issuer's metadata names the keys that sign every workload token: read in clear only on loopback.
            var authority = new Uri(jwt.Authority);
            var loopback = Broker.OAuth.Providers.Endpoint.IsLoopback(authority);
            if (authority.Scheme != Uri.UriSchemeHttps && !loopback)
                failures.Add(nameof(jwt.Authority), "must use https (loopback is exempt).");
            if (!jwt.RequireHttpsMetadata && !loopback)
                failures.Add(nameof(jwt.RequireHttpsMetadata), $"may be false only for a loopback {failures.Path(nameof(jwt.Authority))}.");
        }
        if (jwt.Authority is not null && string.IsNullOrWhiteSpace(jwt.Audience))
            failures.Add(nameof(jwt.Audience), $"is required when {failures.Path(nameof(jwt.Authority))} is set.");
        failures.NotNegative(nameof(jwt.ClockSkew), jwt.ClockSkew);
        if (jwt.MaxResponseBytes is < 1024 or > 16 * 1024 * 1024)
            failures.Add(nameof(jwt.MaxResponseBytes), $"must be 1024-16777216 (was {jwt.MaxResponseBytes}).");
        return failures.Result;
    }
}

/// <summary>Names every wrong caller setting at start; WorkloadSubjects are checked against the JWT issuer.</summary>
public sealed class CallerOptionsValidator(CallerAuthenticationOptions authentication) : IValidateOptions<CallersOptions>
{
    public ValidateOptionsResult Validate(string? name, CallersOptions options) =>
        Validate(options.Callers, authentication) is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;

    public static IReadOnlyList<string> Validate(IReadOnlyDictionary<string, CallerOptions> callers, CallerAuthenticationOptions authentication)
    {
        var failures = new List<string>();
        var jwt = authentication.Jwt;
        var j = $"{CallerAuthenticationOptions.Section}:Jwt";
        var seenHashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, caller) in callers)
        {
            var p = $"{CallerOptions.Section}:{name}";
            if (caller.ApiKeyHashes.Count + caller.WorkloadSubjects.Count + caller.CertificateThumbprints.Count == 0)
                failures.Add($"{p} has no credential: set ApiKeyHashes, WorkloadSubjects or CertificateThumbprints.");
            foreach (var hash in caller.ApiKeyHashes)
            {
                if (!ApiKeyHash.TryParse(hash, out _))
                    failures.Add($"{p}:ApiKeyHashes has a value that is not sha256:<64 hex digits> (make one with `Broker.Silo new-api-key`).");
                else if (!seenHashes.Add(hash))
                    failures.Add($"{p}:ApiKeyHashes repeats a key hash another caller has: each key names one caller.");
            }
            if (caller.WorkloadSubjects.Count > 0 && jwt.Authority is null)
                failures.Add($"{p}:WorkloadSubjects needs {j}:Authority.");
            foreach (var thumbprint in caller.CertificateThumbprints)
            {
                if (thumbprint.Length != 64 || !thumbprint.All(char.IsAsciiHexDigit))
                    failures.Add($"{p}:CertificateThumbprints must be SHA-256 thumbprints (64 hex digits).");
            }
            foreach (var subject in caller.Subjects)
            {
                if (subject.Length == 0 || subject.IndexOf('*') is var star && star >= 0 && star != subject.Length - 1)
                    failures.Add($"{p}:Subjects entries are exact, a prefix ending in '*', or '*'.");
            }
            foreach (var returnUrl in caller.ReturnUrls)
            {
                if (Broker.OAuth.Authorization.ReturnUrl.WhyNotRegistrable(returnUrl) is { } why)
                    failures.Add($"{p}:ReturnUrls entry '{returnUrl}' {why}");
            }
            foreach (var resource in caller.Resources)
            {
                if (resource != "*" && (!Uri.TryCreate(resource, UriKind.Absolute, out var uri) || uri.Fragment.Length > 0))
                    failures.Add($"{p}:Resources entries are absolute URIs without a fragment (RFC 8707), or '*'.");
            }
            if (caller.Webhook is { } webhook)
                failures.AddRange(Events.WebhookTarget.Problems(webhook).Select(problem => $"{p}:Webhook:{problem}"));
            if (caller.Providers.Count == 0)
                failures.Add($"{p}:Providers is empty: the caller could do nothing (use '*' for all providers).");
        }
        return failures;
    }
}
