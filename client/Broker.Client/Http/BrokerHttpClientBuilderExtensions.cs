using Microsoft.Extensions.DependencyInjection;

namespace Broker.Client;

public static class BrokerHttpClientBuilderExtensions
{
    /// <summary>
    /// Sends this HttpClient's requests with the user's access token from the broker. The subject resolver names
    /// the user a request is made for (from the ambient request, a header, a claim...).
    /// </summary>
    public static IHttpClientBuilder AddBrokerAccessToken(this IHttpClientBuilder builder, string provider,
        Func<IServiceProvider, HttpRequestMessage, string> subjectResolver) =>
        builder.AddHttpMessageHandler(services => new BrokerTokenHandler(new UserTokenSource(
            services.GetRequiredService<BrokerClient>(), services.GetRequiredService<HandlerTokenCache>(), provider,
            request => subjectResolver(services, request))));

    /// <summary>Sends this HttpClient's requests with the service's own client-credentials token from the broker.</summary>
    public static IHttpClientBuilder AddBrokerClientToken(this IHttpClientBuilder builder, string provider, params string[] scopes) =>
        builder.AddHttpMessageHandler(services => new BrokerTokenHandler(new ClientTokenSource(
            services.GetRequiredService<BrokerClient>(), services.GetRequiredService<HandlerTokenCache>(), provider, scopes)));
}
