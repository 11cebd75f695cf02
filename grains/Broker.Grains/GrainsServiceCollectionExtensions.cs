using Broker.Abstractions.Settings;
using Broker.Grains.Authorizations;
using Broker.Grains.Families;
using Broker.Grains.Protection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>
    /// Registers what the grains need besides the protocol core: the key ring (validated at start, or an
    /// ephemeral key when <paramref name="ephemeralKeys"/> is set and none is configured) and their options, each
    /// validated at start.
    /// </summary>
    public static IServiceCollection AddBrokerGrains(this IServiceCollection services, IConfiguration configuration, bool ephemeralKeys)
    {
        var encryption = configuration.GetSection(EncryptionOptions.Section);
        if (ephemeralKeys && !encryption.GetSection("Keys").GetChildren().Any())
        {
            services.AddSingleton(KeyRing.Ephemeral());
        }
        else
        {
            services.AddBrokerOptions<EncryptionOptions, EncryptionOptionsValidator>(configuration, EncryptionOptions.Section);
            services.AddSingleton<KeyRing>();
        }
        services.AddSingleton<SecretProtector>();
        services.AddSingleton<TokenFingerprint>();
        services.AddSingleton(provider => new Abstractions.Identity.FamilyLogId(provider.GetRequiredService<KeyRing>().Primary));
        services.AddSingleton<AuthorizationState>();
        services.AddSingleton<StoredStateSeal>();
        services.AddSingleton<Storage.StoredStateLedger>();
        services.AddMetrics();
        services.AddSingleton<Telemetry.BrokerMetrics>();
        services.AddSingleton<Upstream.UpstreamTokenRequests>();
        services.AddSingleton<FamilyEvents>();
        services.AddBrokerOptions<TokenFamilyOptions, TokenFamilyOptionsValidator>(configuration, TokenFamilyOptions.Section);
        services.AddBrokerOptions<AuthorizationOptions, AuthorizationOptionsValidator>(configuration, AuthorizationOptions.Section);
        services.AddBrokerOptions<Events.EventOptions, Events.EventOptionsValidator>(configuration, Events.EventOptions.Section);
        services.AddSingleton<Telemetry.EventMetrics>();
        // The host replaces it with the durable PostgreSQL outbox in cluster mode.
        services.TryAddSingleton<Abstractions.Events.IEventOutbox, Events.InMemoryEventOutbox>();
        return services;
    }
}
