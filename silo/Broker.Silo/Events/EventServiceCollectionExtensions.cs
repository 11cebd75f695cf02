using Broker.Abstractions.Events;
using Broker.Abstractions.Settings;
using Broker.Silo.Hosting;
using Npgsql;

namespace Broker.Silo.Events;

public static class EventServiceCollectionExtensions
{
    /// <summary>
    /// The WatchEvents stream everywhere; in cluster mode the PostgreSQL outbox (before the grains register their
    /// in-memory default) and every silo's webhook worker.
    /// </summary>
    public static IServiceCollection AddBrokerEvents(this IServiceCollection services, IConfiguration configuration, BrokerMode mode, string? postgreSql)
    {
        services.AddBrokerOptions<EventDeliveryOptions, EventDeliveryOptionsValidator>(configuration, EventDeliveryOptions.Section);
        services.AddSingleton<EventWatch>();
        if (mode != BrokerMode.Cluster) return services;

        services.AddSingleton(_ => NpgsqlDataSource.Create(postgreSql!));
        services.AddSingleton<IEventOutbox, PostgreSqlEventOutbox>();
        services.AddSingleton<WebhookDeliveries>();
        services.AddSingleton<WebhookSender>();
        // No resilience handler: a failed attempt goes back to the outbox, which retries with backoff for the whole period.
        services.AddHttpClient(WebhookSender.Client).ConfigurePrimaryHttpMessageHandler(() => WebhookSender.Handler(allowPrivateNetwork: false));
        services.AddHttpClient(WebhookSender.PrivateNetworkClient).ConfigurePrimaryHttpMessageHandler(() => WebhookSender.Handler(allowPrivateNetwork: true));
        services.AddHostedService<WebhookWorker>();
        return services;
    }
}
