using Broker.Testing.AuthorizationServer;

namespace Broker.Testing.Hosting;

public static class ProviderSettings
{
    /// <summary>The settings of a broker provider pointing at a test authorization server.</summary>
    public static Dictionary<string, string?> For(string provider, TestAuthorizationServer server, string clientId = "broker",
        string clientSecret = "broker-test-secret", string? metadataAddress = null)
    {
        var prefix = $"Broker:Providers:{provider}";
        return new Dictionary<string, string?>
        {
            [$"{prefix}:Issuer"] = server.Issuer.AbsoluteUri,
            [$"{prefix}:ClientId"] = clientId,
            [$"{prefix}:ClientSecret"] = clientSecret,
            [$"{prefix}:Scopes:0"] = "offline_access",
            [$"{prefix}:MetadataAddress"] = metadataAddress,
        };
    }

    public static Dictionary<string, string?> Merge(params Dictionary<string, string?>[] parts)
    {
        var merged = new Dictionary<string, string?>();
        foreach (var part in parts)
            foreach (var (key, value) in part)
                merged[key] = value;
        return merged;
    }
}
