using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broker.Client;

public static class BrokerHttpClientBuilderExtensions
{
    /// <summary>
    /// Sends this HttpClient's requests with the user's access token from the broker. The subject resolver names
    /// the user a request is made for (from the ambient request, a header, a claim...).
    /// </summary>
    public static IHttpClientBuilder AddBrokerAccessToken(this IHttpClientBuilder builder, string provider,
        Func<IServiceProvider, HttpRequestMessage, string> subjectResolver) =>
        builder.AddHttpMessageHandler(services =>
        {
            var broker = services.GetRequiredService<BrokerClient>();
            return new BrokerTokenHandler((request, _) =>
            {
                var subject = subjectResolver(services, request);
                return ValueTask.FromResult<(string, Func<bool, CancellationToken, Task<BrokerToken>>)>((
                    $"user\n{provider}\n{subject}",
                    (force, ct) => broker.GetAccessTokenAsync(provider, subject, force, cancellationToken: ct)));
            }, services.GetRequiredService<HandlerTokenCache>(), services.GetRequiredService<IOptions<BrokerClientOptions>>());
        });

    /// <summary>Sends this HttpClient's requests with the service's own client-credentials token from the broker.</summary>
    public static IHttpClientBuilder AddBrokerClientToken(this IHttpClientBuilder builder, string provider, params string[] scopes) =>
        builder.AddHttpMessageHandler(services =>
        {
            var broker = services.GetRequiredService<BrokerClient>();
            var key = $"client\n{provider}\n{string.Join(' ', scopes.Order(StringComparer.Ordinal))}";
            // A client-credentials token cannot be force-refreshed at the broker; after a 401 the cached one is
            // dropped and the broker's current one is asked for again.
            return new BrokerTokenHandler((_, _) => ValueTask.FromResult<(string, Func<bool, CancellationToken, Task<BrokerToken>>)>((
                    key, (_, ct) => broker.GetClientTokenAsync(provider, scopes, cancellationToken: ct))),
                services.GetRequiredService<HandlerTokenCache>(), services.GetRequiredService<IOptions<BrokerClientOptions>>());
        });
}
