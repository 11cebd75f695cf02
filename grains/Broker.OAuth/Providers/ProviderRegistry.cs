using Broker.Abstractions;
using Broker.Abstractions.Identity;
using Microsoft.Extensions.Options;

namespace Broker.OAuth.Providers;

/// <summary>Where to build redirect URIs: the broker's public base address.</summary>
public sealed class RedirectOptions
{
    public const string Section = "Broker:Http";

    /// <summary>The externally visible base URL of the HTTP endpoint, e.g. https://broker.example.com.</summary>
    public string? PublicBaseUrl { get; set; }
}

/// <summary>The configured providers, looked up by name.</summary>
public sealed class ProviderRegistry
{
    private readonly Dictionary<ProviderName, Provider> _providers;

    public ProviderRegistry(IOptions<ProvidersOptions> providers, IOptions<RedirectOptions> redirect)
    {
        var baseUrl = (redirect.Value.PublicBaseUrl ?? "http://127.0.0.1").TrimEnd('/');
        _providers = providers.Value.Providers.ToDictionary(
            p => ProviderName.Parse(p.Key),
            p => new Provider(ProviderName.Parse(p.Key), p.Value, new Uri($"{baseUrl}/oauth2/callback/{p.Key}")));
    }

    public IEnumerable<Provider> All => _providers.Values;

    public bool TryGet(ProviderName name, out Provider provider) => _providers.TryGetValue(name, out provider!);

    public Provider Get(ProviderName name) => TryGet(name, out var provider)
        ? provider
        : throw new BrokerException(BrokerErrorReason.UnknownProvider, $"no provider named '{name}' is configured.");
}
