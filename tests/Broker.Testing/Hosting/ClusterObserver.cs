using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using StackExchange.Redis;

namespace Broker.Testing.Hosting;

/// <summary>
/// An Orleans client joined to a cluster through its Redis membership, as broker-ops joins it: lets a test ask
/// the cluster where a family's grain is active, so it can kill exactly that silo.
/// </summary>
public sealed class ClusterObserver : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterObserver(IHost host) => _host = host;

    public static async Task<ClusterObserver> ConnectAsync(string redis, string clusterId = "broker", string serviceId = "broker")
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
        });
        var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(timeout.Token);
        return new ClusterObserver(host);
    }

    /// <summary>The silo-to-silo port of the silo where the family's grain is active, or null if it is active nowhere.</summary>
    public async Task<int?> SiloPortOfFamilyAsync(string provider, string subject)
    {
        var grains = _host.Services.GetRequiredService<IGrainFactory>();
        var family = grains.GetGrain<ITokenFamilyGrain>(new FamilyKey(ProviderName.Parse(provider), Subject.Parse(subject)).ToGrainKey());
        var silo = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(family);
        return silo?.Endpoint.Port;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
