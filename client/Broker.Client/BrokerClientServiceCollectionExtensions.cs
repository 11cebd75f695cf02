using Broker.Client.Grpc;
using Broker.V1;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Client;

public static class BrokerClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BrokerClient"/> over a typed gRPC client: a deadline per call, retries of UNAVAILABLE
    /// for the methods the contract marks idempotent only, the caller's credential, and typed errors.
    /// </summary>
    public static IServiceCollection AddBrokerClient(this IServiceCollection services, Action<BrokerClientOptions> configure)
    {
        services.AddOptions<BrokerClientOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BrokerClientOptions>, BrokerClientOptionsValidator>());
        services.AddSingleton<BrokerErrorInterceptor>();
        services.AddSingleton<HandlerTokenCache>();

        var grpc = services.AddGrpcClient<TokenBroker.TokenBrokerClient>((provider, o) =>
            {
                var options = provider.GetRequiredService<IOptions<BrokerClientOptions>>().Value;
                o.Address = options.Address;
            })
            .ConfigureChannel((provider, channel) =>
            {
                var options = provider.GetRequiredService<IOptions<BrokerClientOptions>>().Value;
                channel.ServiceConfig = new ServiceConfig { MethodConfigs = { IdempotentRetry.Policy(options.MaxAttempts) } };
                // Bearer credentials over plain HTTP only make sense on loopback or inside a mesh that adds TLS.
                channel.UnsafeUseInsecureChannelCallCredentials = options.Address!.Scheme == Uri.UriSchemeHttp;
            })
            .ConfigurePrimaryHttpMessageHandler(provider =>
            {
                var options = provider.GetRequiredService<IOptions<BrokerClientOptions>>().Value;
                var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
                if (options.ClientCertificate is { } certificate)
                    handler.SslOptions.ClientCertificates = [certificate];
                return handler;
            })
            .AddInterceptor<BrokerErrorInterceptor>()
            .AddCallCredentials(async (context, metadata, provider) =>
            {
                var options = provider.GetRequiredService<IOptions<BrokerClientOptions>>().Value;
                var credential = options.WorkloadToken is { } source
                    ? await source(provider, context.CancellationToken)
                    : options.ApiKey;
                if (credential is not null) metadata.Add("authorization", $"Bearer {credential}");
            });
        services.AddTransient<BrokerClient>();
        return services;
    }
}
