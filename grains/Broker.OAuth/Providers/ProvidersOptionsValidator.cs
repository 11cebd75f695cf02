using Broker.Abstractions.Identity;
using Microsoft.Extensions.Options;

namespace Broker.OAuth.Providers;

/// <summary>Validates every provider at start, naming the exact setting that is missing or malformed.</summary>
public sealed class ProvidersOptionsValidator : IValidateOptions<ProvidersOptions>
{
    public ValidateOptionsResult Validate(string? name, ProvidersOptions options)
    {
        var failures = new List<string>();
        foreach (var (providerName, provider) in options.Providers)
        {
            var prefix = $"{ProvidersOptions.Section}:{providerName}";
            if (!ProviderName.TryParse(providerName, out _))
                failures.Add($"{prefix}: the provider name must be 1-64 characters of a-z, 0-9, '-' or '_'.");

            if (!IsAbsoluteUri(provider.Issuer))
                failures.Add($"{prefix}:Issuer is required and must be an absolute URL.");
            else if (!Endpoint.IsTransportAllowed(new Uri(provider.Issuer!), provider.RequireHttps))
                failures.Add($"{prefix}:Issuer must use https (or set {prefix}:RequireHttps=false).");

            if (string.IsNullOrWhiteSpace(provider.ClientId))
                failures.Add($"{prefix}:ClientId is required.");

            if (!Enum.IsDefined(provider.Dpop))
                failures.Add($"{prefix}:Dpop must be Off, Opportunistic or Required.");

            switch (provider.ClientAuthentication)
            {
                case ClientAuthenticationMethod.PrivateKeyJwt:
                    if (string.IsNullOrEmpty(provider.ClientKeyFile))
                        failures.Add($"{prefix}:ClientKeyFile is required for ClientAuthentication=PrivateKeyJwt.");
                    else if (!File.Exists(provider.ClientKeyFile))
                        failures.Add($"{prefix}:ClientKeyFile names a file that does not exist.");
                    else if (ClientSigningKey.Problem(provider.ClientKeyFile) is { } problem)
                        failures.Add($"{prefix}:ClientKeyFile {problem}");
                    break;
                case ClientAuthenticationMethod.TlsClientAuth:
                    if (string.IsNullOrEmpty(provider.ClientCertificateFile) || string.IsNullOrEmpty(provider.ClientCertificateKeyFile))
                        failures.Add($"{prefix}:ClientCertificateFile and {prefix}:ClientCertificateKeyFile are required for ClientAuthentication=TlsClientAuth.");
                    else if (!File.Exists(provider.ClientCertificateFile) || !File.Exists(provider.ClientCertificateKeyFile))
                        failures.Add($"{prefix}:ClientCertificateFile or {prefix}:ClientCertificateKeyFile names a file that does not exist.");
                    else if (!CertificatePairLoads(provider.ClientCertificateFile, provider.ClientCertificateKeyFile))
                        failures.Add($"{prefix}:ClientCertificateFile and {prefix}:ClientCertificateKeyFile are not a PEM certificate with its private key.");
                    break;
                default:
                    if (string.IsNullOrEmpty(provider.ClientSecret) && string.IsNullOrEmpty(provider.ClientSecretFile))
                        failures.Add($"{prefix}:ClientSecret or {prefix}:ClientSecretFile is required.");
                    else if (!string.IsNullOrEmpty(provider.ClientSecretFile) && !File.Exists(provider.ClientSecretFile))
                        failures.Add($"{prefix}:ClientSecretFile names a file that does not exist.");
                    break;
            }

            foreach (var (setting, value) in new[]
                     {
                         ("MetadataAddress", provider.MetadataAddress),
                         ("AuthorizationEndpoint", provider.AuthorizationEndpoint),
                         ("TokenEndpoint", provider.TokenEndpoint),
                         ("RevocationEndpoint", provider.RevocationEndpoint),
                     })
            {
                if (value is not null && !IsAbsoluteUri(value))
                    failures.Add($"{prefix}:{setting} must be an absolute URL.");
                // Configured endpoints obey the same transport rule as discovered ones (they carry the secret and the tokens).
                else if (value is not null && !Endpoint.IsTransportAllowed(new Uri(value), provider.RequireHttps))
                    failures.Add($"{prefix}:{setting} must use https (or set {prefix}:RequireHttps=false).");
            }

            if (!provider.UseDiscovery && (provider.AuthorizationEndpoint is null || provider.TokenEndpoint is null))
                failures.Add($"{prefix}:AuthorizationEndpoint and {prefix}:TokenEndpoint are required when UseDiscovery is false.");

            var breaker = provider.CircuitBreaker;
            if (breaker.MinimumThroughput < 2)
                failures.Add($"{prefix}:CircuitBreaker:MinimumThroughput must be at least 2 (was {breaker.MinimumThroughput}).");
            if (!(breaker.FailureRatio > 0 && breaker.FailureRatio <= 1))
                failures.Add($"{prefix}:CircuitBreaker:FailureRatio must be above 0 and at most 1 (was {breaker.FailureRatio}).");
            // The retrying client's attempts time out after 10 s; Polly wants the sampling window at least twice that.
            if (breaker.SamplingDuration < TimeSpan.FromSeconds(20))
                failures.Add($"{prefix}:CircuitBreaker:SamplingDuration must be at least 00:00:20 (was {breaker.SamplingDuration}).");
            if (breaker.BreakDuration < TimeSpan.FromMilliseconds(500))
                failures.Add($"{prefix}:CircuitBreaker:BreakDuration must be at least 00:00:00.5 (was {breaker.BreakDuration}).");

            if (!ScopeSet.TryParse(provider.Scopes, out _, out var scopeError))
                failures.Add($"{prefix}:Scopes: {scopeError}");
            if (!ScopeSet.TryParse(provider.ClientCredentialsScopes, out _, out var clientScopeError))
                failures.Add($"{prefix}:ClientCredentialsScopes: {clientScopeError}");

            if (provider.DefaultAccessTokenLifetime <= TimeSpan.Zero)
                failures.Add($"{prefix}:DefaultAccessTokenLifetime must be positive.");
            if (provider.RefreshTokenReuseLeeway < TimeSpan.Zero)
                failures.Add($"{prefix}:RefreshTokenReuseLeeway must not be negative.");
            if (provider.TokenRequestTimeout <= TimeSpan.Zero || provider.TokenRequestTimeout > TimeSpan.FromMinutes(5))
                failures.Add($"{prefix}:TokenRequestTimeout must be above 0 and at most 00:05:00 (was {provider.TokenRequestTimeout}).");
            if (provider.UnansweredBackoff <= TimeSpan.Zero)
                failures.Add($"{prefix}:UnansweredBackoff must be positive.");
            if (provider.MaxUnansweredBackoff < provider.UnansweredBackoff)
                failures.Add($"{prefix}:MaxUnansweredBackoff must be at least UnansweredBackoff (was {provider.MaxUnansweredBackoff}).");
            if (provider.TokenRequestsPerMinute <= 0)
                failures.Add($"{prefix}:TokenRequestsPerMinute must be positive.");
            if (provider.TokenRequestBurst <= 0)
                failures.Add($"{prefix}:TokenRequestBurst must be positive.");
            if (!(provider.CallerTokenRequestShare is > 0 and <= 1))
                failures.Add($"{prefix}:CallerTokenRequestShare must be above 0 and at most 1.");
            if (provider.MaxClientTokenKeysPerCaller <= 0)
                failures.Add($"{prefix}:MaxClientTokenKeysPerCaller must be positive.");
            if (provider.KeepAliveInterval is { } keepAlive && keepAlive <= TimeSpan.Zero)
                failures.Add($"{prefix}:KeepAliveInterval must be positive.");
            if (provider.RefreshTokenLifetime is { } lifetime && lifetime <= TimeSpan.Zero)
                failures.Add($"{prefix}:RefreshTokenLifetime must be positive.");
            if (provider.MaxResponseBytes is < MinResponseLimit or > MaxResponseLimit)
                failures.Add($"{prefix}:MaxResponseBytes must be {MinResponseLimit}-{MaxResponseLimit} (was {provider.MaxResponseBytes}).");
            if (provider.MetadataRefreshInterval <= TimeSpan.Zero)
                failures.Add($"{prefix}:MetadataRefreshInterval must be positive.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal const int MinResponseLimit = 1024;
    internal const int MaxResponseLimit = 16 * 1024 * 1024;

    private static bool CertificatePairLoads(string certificate, string key)
    {
        try
        {
            using var loaded = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certificate, key);
            return loaded.HasPrivateKey;
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return false;
        }
    }

    private static bool IsAbsoluteUri(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
}
