using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Callers;

/// <summary>
/// One service allowed to call the broker: <c>Broker:Callers:{name}</c>. How it proves who it is (any of the
/// credentials) and what it may do. Everything not granted here is denied.
/// </summary>
public sealed class CallerOptions
{
    public const string Section = "Broker:Callers";

    /// <summary>SHA-256 of each API key the caller may present, as <c>sha256:{64 hex digits}</c>. Keys are never configured in clear.</summary>
    public List<string> ApiKeyHashes { get; set; } = [];

    /// <summary>The <c>sub</c> claims of workload JWTs (validated per <c>Broker:Authentication:Jwt</c>) that are this caller.</summary>
    public List<string> WorkloadSubjects { get; set; } = [];

    /// <summary>SHA-256 thumbprints (hex) of client certificates that are this caller (mutual TLS on the gRPC port).</summary>
    public List<string> CertificateThumbprints { get; set; } = [];

    /// <summary>Provider names, or <c>*</c> for all.</summary>
    public List<string> Providers { get; set; } = [];

    /// <summary>Subjects: exact (<c>user-42</c>), prefix (<c>team-a/*</c>) or all (<c>*</c>).</summary>
    public List<string> Subjects { get; set; } = [];

    /// <summary>Scopes it may obtain tokens for, or <c>*</c> for any.</summary>
    public List<string> Scopes { get; set; } = [];

    public bool MayGetClientTokens { get; set; }
    public bool MayBeginAuthorization { get; set; }
    public bool MayImport { get; set; }
    public bool MayRevoke { get; set; }
}

/// <summary>How callers' credentials are checked: <c>Broker:Authentication</c>.</summary>
public sealed class CallerAuthenticationOptions
{
    public const string Section = "Broker:Authentication";

    /// <summary>Workload identity tokens. Off when <see cref="WorkloadJwtOptions.Authority"/> is not set.</summary>
    public WorkloadJwtOptions Jwt { get; set; } = new();
}

/// <summary><c>Broker:Authentication:Jwt</c>: the issuer of workload JWTs, found by OpenID discovery (RFC 8414).</summary>
public sealed class WorkloadJwtOptions
{
    /// <summary>The issuer; its <c>/.well-known/openid-configuration</c> names the JWKS.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience the tokens must carry (this broker).</summary>
    public string? Audience { get; set; }

    /// <summary>False only for a loopback issuer in development and tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Every caller, keyed by name: <c>Broker:Callers</c>.</summary>
public sealed class CallersOptions
{
    public Dictionary<string, CallerOptions> Callers { get; } = new(StringComparer.Ordinal);
}

/// <summary>Names every wrong <c>Broker:Authentication</c> setting at start.</summary>
public sealed class CallerAuthenticationOptionsValidator : IValidateOptions<CallerAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, CallerAuthenticationOptions options)
    {
        var jwt = options.Jwt;
        var failures = new SettingFailures($"{CallerAuthenticationOptions.Section}:Jwt");
        if (jwt.Authority is not null && !Uri.TryCreate(jwt.Authority, UriKind.Absolute, out _))
            failures.Add(nameof(jwt.Authority), "must be an absolute URL.");
        if (jwt.Authority is not null && string.IsNullOrWhiteSpace(jwt.Audience))
            failures.Add(nameof(jwt.Audience), $"is required when {failures.Path(nameof(jwt.Authority))} is set.");
        failures.NotNegative(nameof(jwt.ClockSkew), jwt.ClockSkew);
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
            if (caller.Providers.Count == 0)
                failures.Add($"{p}:Providers is empty: the caller could do nothing (use '*' for all providers).");
        }
        return failures;
    }
}
