using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Abstractions;
using Broker.OAuth.Http;
using Broker.OAuth.Providers;
using Microsoft.Extensions.Logging;

namespace Broker.OAuth.Discovery;

/// <summary>
/// Fetches and caches each provider's metadata. Explicit endpoints in the provider's options win over the
/// document. A failed refetch keeps serving the last good document, so a provider's discovery outage does
/// not stop token refreshes.
/// </summary>
/// <remarks>
/// Written here rather than taken from Duende's discovery client because that client reads only the OpenID
/// location, while RFC 8414 servers publish at <c>/.well-known/oauth-authorization-server</c> with the
/// issuer's path appended after it (§3.1); this class tries both and enforces the §3.3 issuer match.
/// </remarks>
public sealed partial class MetadataStore(OAuthHttpClients http, TimeProvider time, ILogger<MetadataStore> logger)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private sealed record Entry(AuthorizationServerMetadata Metadata, DateTimeOffset FetchedAt);

    public async Task<AuthorizationServerMetadata> GetAsync(Provider provider, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(provider.Name.Value, out var entry)
            && now - entry.FetchedAt < provider.Options.MetadataRefreshInterval)
        {
            return entry.Metadata;
        }

        try
        {
            var metadata = provider.Options.UseDiscovery
                ? ApplyOverrides(provider, await FetchAsync(provider, cancellationToken))
                : FromOptions(provider);
            _entries[provider.Name.Value] = new Entry(metadata, now);
            return metadata;
        }
        catch (BrokerException) when (entry is not null)
        {
            LogStaleMetadata(logger, provider.Name.Value);
            return entry.Metadata;
        }
    }

    private async Task<AuthorizationServerMetadata> FetchAsync(Provider provider, CancellationToken cancellationToken)
    {
        string? lastError = null;
        foreach (var address in Addresses(provider))
        {
            try
            {
                using var response = await http.ForRetryableRequests(provider.Name).GetAsync(address, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    lastError = $"{address} answered {(int)response.StatusCode}.";
                    continue;
                }
                var document = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                var metadata = AuthorizationServerMetadata.Parse(document, out var error)
                    ?? throw Unavailable(provider, error!);
                // RFC 8414 §3.3: the issuer in the document must be identical to the one configured,
                // or an attacker-controlled document could redirect the broker's requests.
                if (!string.Equals(metadata.Issuer, provider.Options.Issuer, StringComparison.Ordinal))
                {
                    // A configuration error, not an outage: retrying will not fix it, so it is not UNAVAILABLE.
                    throw new BrokerException(BrokerErrorReason.ProviderRejected,
                        $"the metadata of provider '{provider.Name}' names the issuer '{Shortened(metadata.Issuer)}', but " +
                        $"Broker:Providers:{provider.Name}:Issuer is '{provider.Options.Issuer}'; they must be identical (RFC 8414 §3.3), a trailing '/' included.")
                        { Detail = "issuer_mismatch" };
                }
                foreach (var endpoint in new[] { metadata.AuthorizationEndpoint, metadata.TokenEndpoint, metadata.RevocationEndpoint,
                             metadata.MtlsTokenEndpoint, metadata.MtlsRevocationEndpoint })
                {
                    if (endpoint is not null && !Endpoint.IsTransportAllowed(endpoint, provider.Options.RequireHttps))
                        throw Unavailable(provider, "the metadata document names an endpoint without TLS.");
                }
                return metadata;
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded)
            {
                lastError = $"{address}: the document is larger than {ProvidersOptions.Section}:{provider.Name}:MaxResponseBytes " +
                            $"({provider.Options.MaxResponseBytes} bytes) and was refused unread.";
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException or Polly.ExecutionRejectedException)
            {
                lastError = $"{address}: {ex.GetType().Name}.";
            }
        }
        throw Unavailable(provider, lastError ?? "no metadata address.");
    }

    private static IEnumerable<Uri> Addresses(Provider provider)
    {
        if (provider.Options.MetadataAddress is { } explicitAddress)
        {
            yield return new Uri(explicitAddress);
            yield break;
        }
        var issuer = provider.Issuer;
        var path = issuer.AbsolutePath.TrimEnd('/');
        var origin = issuer.GetLeftPart(UriPartial.Authority);
        yield return new Uri($"{origin}{path}/.well-known/openid-configuration");
        yield return new Uri($"{origin}/.well-known/oauth-authorization-server{path}");
    }

    private static AuthorizationServerMetadata ApplyOverrides(Provider provider, AuthorizationServerMetadata metadata) => metadata with
    {
        AuthorizationEndpoint = Override(provider.Options.AuthorizationEndpoint) ?? metadata.AuthorizationEndpoint,
        TokenEndpoint = Override(provider.Options.TokenEndpoint) ?? metadata.TokenEndpoint,
        RevocationEndpoint = Override(provider.Options.RevocationEndpoint) ?? metadata.RevocationEndpoint,
        // An endpoint set in the configuration wins over the document, its mTLS alias included.
        MtlsTokenEndpoint = provider.Options.TokenEndpoint is null ? metadata.MtlsTokenEndpoint : null,
        MtlsRevocationEndpoint = provider.Options.RevocationEndpoint is null ? metadata.MtlsRevocationEndpoint : null,
    };

    private static AuthorizationServerMetadata FromOptions(Provider provider) => new(
        provider.Options.Issuer!,
        new Uri(provider.Options.AuthorizationEndpoint!),
        new Uri(provider.Options.TokenEndpoint!),
        Override(provider.Options.RevocationEndpoint),
        ["S256"],
        AuthorizationResponseIssParameterSupported: false);

    private static Uri? Override(string? value) => value is null ? null : new Uri(value);

    private static string Shortened(string value) => value.Length <= 200 ? value : value[..200] + "...";

    private static BrokerException Unavailable(Provider provider, string why) =>
        new(BrokerErrorReason.ProviderUnavailable, $"metadata of provider '{provider.Name}' is unusable: {why}");

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Metadata of provider {Provider} could not be refreshed; serving the last good copy.")]
    private static partial void LogStaleMetadata(ILogger logger, string provider);
}
