using Broker.Abstractions.Settings;
using Broker.OAuth.Discovery;
using Broker.OAuth.Http;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using System.Net;
using Polly;

namespace Broker.OAuth;

public static class OAuthServiceCollectionExtensions
{
    /// <summary>
    /// Registers the protocol core: providers bound from <c>Broker:Providers</c> and validated at start, and
    /// per provider two HttpClients with their own resilience pipelines (and so their own circuit breakers).
    /// </summary>
    public static IServiceCollection AddBrokerOAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        // Keyed by provider name, so bound into the dictionary rather than by property names.
        services.AddBrokerOptions<ProvidersOptions, ProvidersOptionsValidator>(
            o => configuration.GetSection(ProvidersOptions.Section).Bind(o.Providers));
        services.AddBrokerOptions<RedirectOptions, RedirectOptionsValidator>(configuration, RedirectOptions.Section);

        services.AddHttpClient(); // the factory, even with no provider configured yet
        services.AddSingleton<ProviderRegistry>();
        services.AddSingleton<OAuthHttpClients>();
        var breakers = new ProviderCircuitBreakers();
        services.AddSingleton(breakers);
        services.AddSingleton<MetadataStore>();
        services.AddSingleton<TokenEndpointClient>();
        services.AddSingleton<Dpop.DpopNonces>();
        services.TryAddSingleton<ITokenEndpoint, TokenEndpoint>();

        var providerNames = configuration.GetSection(ProvidersOptions.Section).GetChildren().Select(c => c.Key).ToArray();
        foreach (var name in providerNames)
        {
            if (!Abstractions.Identity.ProviderName.TryParse(name, out var provider)) continue; // reported by validation

            var section = configuration.GetSection($"{ProvidersOptions.Section}:{name}");
            var breaker = section.GetSection(nameof(ProviderOptions.CircuitBreaker)).Get<CircuitBreakerOptions>() ?? new CircuitBreakerOptions();
            // Every answer is buffered by HttpClient up to this size and refused beyond it (HttpRequestError.ConfigurationLimitExceeded),
            // so a hostile or broken server cannot make the silo hold an unbounded body. Out-of-range values fail validation at start.
            var maxResponseBytes = Math.Clamp(section.GetValue<int?>(nameof(ProviderOptions.MaxResponseBytes)) ?? ProviderOptions.DefaultMaxResponseBytes,
                ProvidersOptionsValidator.MinResponseLimit, ProvidersOptionsValidator.MaxResponseLimit);
            // Out-of-range values fail validation at start; the clamp only keeps the pipeline buildable until then.
            var requestTimeout = section.GetValue<TimeSpan?>(nameof(ProviderOptions.TokenRequestTimeout)) is { } timeout && timeout > TimeSpan.Zero
                ? timeout
                : new ProviderOptions().TokenRequestTimeout;
            services.AddHttpClient(OAuthHttpClients.RetryableName(provider))
                .ConfigureHttpClient(c => c.MaxResponseContentBufferSize = maxResponseBytes)
                // Credentials go in these requests: never follow a redirect with them.
                .ConfigurePrimaryHttpMessageHandler(() => WithClientCertificate(new SocketsHttpHandler { AllowAutoRedirect = false }, section))
                .AddStandardResilienceHandler(o =>
                {
                    o.AttemptTimeout.Timeout = TimeSpan.FromSeconds(10);
                    o.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(30);
                    o.CircuitBreaker.SamplingDuration = breaker.SamplingDuration;
                    o.CircuitBreaker.MinimumThroughput = breaker.MinimumThroughput;
                    o.CircuitBreaker.FailureRatio = breaker.FailureRatio;
                    o.CircuitBreaker.BreakDuration = breaker.BreakDuration;
                    o.CircuitBreaker.StateProvider = breakers.For(name, "retryable");
                    o.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(BreakerCounts(args.Outcome));
                    // 429 and 503 are the server asking the whole cluster to wait (Retry-After): surface them so
                    // the client's throttle stops every silo, instead of retrying them here.
                    o.Retry.ShouldHandle = args => ValueTask.FromResult(
                        HttpClientResiliencePredicates.IsTransient(args.Outcome)
                        && args.Outcome.Result?.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable));
                });

            // No retry strategy: a refresh token or a code must reach the server at most once. As a precaution
            // against SocketsHttpHandler's own transparent resend on a reused pooled connection that the server
            // closed, these requests get a connection each (lifetime zero): refreshes are rare, a handshake is cheap.
            services.AddHttpClient(OAuthHttpClients.SingleAttemptName(provider))
                .ConfigureHttpClient(c => c.MaxResponseContentBufferSize = maxResponseBytes)
                .ConfigurePrimaryHttpMessageHandler(() => WithClientCertificate(new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    PooledConnectionLifetime = TimeSpan.Zero,
                }, section))
                .AddResilienceHandler("single-attempt", builder => builder
                    .AddTimeout(requestTimeout)
                    .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                    {
                        ShouldHandle = args => ValueTask.FromResult(BreakerCounts(args.Outcome)),
                        SamplingDuration = breaker.SamplingDuration,
                        MinimumThroughput = breaker.MinimumThroughput,
                        FailureRatio = breaker.FailureRatio,
                        BreakDuration = breaker.BreakDuration,
                        StateProvider = breakers.For(name, "single-attempt"),
                    }));
        }
        return services;
    }

    /// <summary>
    /// What opens a provider's breaker: transient failures, but not the provider's throttle signals (429, or 503 with
    /// Retry-After). Those already hold the client back on every silo; counted here they would open the breaker and
    /// fail unrelated requests (a user's code redemption) while the provider is healthy.
    /// </summary>
    internal static bool BreakerCounts(Outcome<HttpResponseMessage> outcome) =>
        HttpClientResiliencePredicates.IsTransient(outcome)
        && outcome.Result is not { StatusCode: HttpStatusCode.TooManyRequests }
        && outcome.Result is not { StatusCode: HttpStatusCode.ServiceUnavailable, Headers.RetryAfter: not null };

    /// <summary>RFC 8705: a provider set to TlsClientAuth gets its client certificate on every connection.</summary>
    private static SocketsHttpHandler WithClientCertificate(SocketsHttpHandler handler, IConfiguration provider)
    {
        if (provider[nameof(ProviderOptions.ClientAuthentication)] is { } method
            && string.Equals(method, nameof(ClientAuthenticationMethod.TlsClientAuth), StringComparison.OrdinalIgnoreCase)
            && provider[nameof(ProviderOptions.ClientCertificateFile)] is { } certificate
            && provider[nameof(ProviderOptions.ClientCertificateKeyFile)] is { } key)
        {
            // Re-read when the factory rotates handlers (every two minutes), so a renewed certificate is picked up.
            var loaded = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certificate, key);
            handler.SslOptions.ClientCertificates = [loaded];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => loaded;
        }
        return handler;
    }
}
