using Broker.Silo.Callers;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Broker.Testing.Hosting;

/// <summary>
/// The caller every test silo knows: allowed everything, with a key made for this test run. Tests of the
/// policy configure their own callers next to it.
/// </summary>
public static class TestCallers
{
    public const string AdminName = "tests";

    public static string AdminApiKey { get; } = ApiKeyHash.NewKey();

    /// <summary>Where the admin caller's users return after logging in (never fetched: the tests play the service there).</summary>
    public static Uri ReturnUrl { get; } = new("https://app.test/after-login");

    /// <summary>The settings that declare the admin caller (any silo, any mode).</summary>
    public static IReadOnlyDictionary<string, string?> AdminSettings { get; } = new Dictionary<string, string?>
    {
        [$"Broker:Callers:{AdminName}:ApiKeyHashes:0"] = ApiKeyHash.Format(AdminApiKey),
        [$"Broker:Callers:{AdminName}:Providers:0"] = "*",
        [$"Broker:Callers:{AdminName}:Subjects:0"] = "*",
        [$"Broker:Callers:{AdminName}:Scopes:0"] = "*",
        [$"Broker:Callers:{AdminName}:Resources:0"] = "*",
        [$"Broker:Callers:{AdminName}:MayGetClientTokens"] = "true",
        [$"Broker:Callers:{AdminName}:MayBeginAuthorization"] = "true",
        [$"Broker:Callers:{AdminName}:MayImport"] = "true",
        [$"Broker:Callers:{AdminName}:MayRevoke"] = "true",
        [$"Broker:Callers:{AdminName}:ReturnUrls:0"] = ReturnUrl.AbsoluteUri,
        // Tests of the callback page deliver responses without a service in front; the main flow uses the return URL.
        [$"Broker:Callers:{AdminName}:InsecureDirectCompletion"] = "true",
    };

    /// <summary>Settings of a caller with an API key: grants as <c>Broker:Callers:{name}:...</c> keys relative to the caller.</summary>
    public static Dictionary<string, string?> WithApiKey(string name, string apiKey, IReadOnlyDictionary<string, string> grants)
    {
        var settings = new Dictionary<string, string?> { [$"Broker:Callers:{name}:ApiKeyHashes:0"] = ApiKeyHash.Format(apiKey) };
        foreach (var (key, value) in grants) settings[$"Broker:Callers:{name}:{key}"] = value;
        return settings;
    }

    /// <summary>Calls on <paramref name="channel"/> that carry <paramref name="apiKey"/> as <c>authorization: Bearer</c>.</summary>
    public static CallInvoker WithBearer(this GrpcChannel channel, string apiKey) =>
        channel.Intercept(metadata =>
        {
            metadata.Add("authorization", $"Bearer {apiKey}");
            return metadata;
        });
}
