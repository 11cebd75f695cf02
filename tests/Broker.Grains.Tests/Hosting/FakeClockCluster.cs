using Broker.Abstractions.Grains;
using Broker.Abstractions.Identity;
using Broker.Grains.Storage;
using Broker.OAuth;
using Broker.OAuth.Tokens;
using Broker.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Broker.Grains.Tests.Hosting;

/// <summary>
/// The fast grain layer: the real grains in Orleans' in-process test cluster, with a fake clock, in-memory storage
/// that can fail on demand, and a scripted token endpoint. Grain timing (refresh-ahead, keep-alive, leases,
/// replay inside the leeway, the persist retry) runs in milliseconds here; the real processes stay the outer ring.
/// </summary>
public class FakeClockCluster : IAsyncLifetime
{
    // Starts at the real time: Orleans' own bookkeeping (membership, gateways) compares the silo's clock with the client's.
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);
    public ScriptedTokenEndpoint Endpoint { get; }
    public FaultInjectingGrainStorage Storage { get; private set; } = null!;
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IGrainFactory Grains => Cluster.Client;

    /// <summary>Everything the silo logs.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>The silo's services (its meter factory, to tell its metrics from other tests').</summary>
    public IServiceProvider SiloServices => Cluster.GetSiloServiceProvider(Cluster.Silos[0].SiloAddress);

    public FakeClockCluster() => Endpoint = new ScriptedTokenEndpoint(Clock);

    /// <summary>Settings on top of the provider "test" (no discovery: nothing leaves the process).</summary>
    protected virtual Dictionary<string, string?> Settings => [];

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Providers:test:Issuer"] = "https://as.invalid/",
            ["Broker:Providers:test:UseDiscovery"] = "false",
            ["Broker:Providers:test:AuthorizationEndpoint"] = "https://as.invalid/authorize",
            ["Broker:Providers:test:TokenEndpoint"] = "https://as.invalid/token",
            ["Broker:Providers:test:RevocationEndpoint"] = "https://as.invalid/revoke",
            ["Broker:Providers:test:ClientId"] = "broker",
            ["Broker:Providers:test:ClientSecret"] = "secret",
            ["Broker:Families:ExpiryBuffer"] = "00:01:00",
            ["Broker:Families:RefreshAheadJitter"] = "0",
            ["Broker:Families:PersistRetryDelay"] = "00:00:01",
            ["Broker:Families:PersistAttemptsPerCall"] = "3",
        }.Concat(Settings).ToDictionary()).Build();

        var builder = new InProcessTestClusterBuilder(1);
        // Orleans times calls out by the silo's TimeProvider too: a test that moves the fake clock by minutes must not
        // expire the call it is waiting on. And on a busy machine the client may look for the gateway before the silo
        // has published it: it retries for a bounded while instead of failing the fixture.
        builder.ConfigureClient(client =>
        {
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10));
            var attempts = 0;
            client.UseConnectionRetryFilter(async (_, cancellationToken) =>
            {
                if (++attempts > 40) return false;
                await Task.Delay(250, cancellationToken);
                return true;
            });
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10));
            silo.UseInMemoryReminderService();
            silo.Services.AddKeyedSingleton<IGrainStorage>(BrokerStorage.Name, (services, _) =>
                Storage = new FaultInjectingGrainStorage(services.GetRequiredService<DeepCopier>()));
            silo.Services.AddSingleton<TimeProvider>(Clock);
            silo.Services.AddSingleton<ILoggerProvider>(Logs);
            silo.Services.AddSingleton<ITokenEndpoint>(Endpoint);
            silo.Services.AddBrokerOAuth(configuration);
            silo.Services.AddBrokerGrains(configuration, ephemeralKeys: true);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>A family of provider "test" holding freshly issued tokens (imported, so no flow is needed).</summary>
    public async Task<ITokenFamilyGrain> ImportedFamily(string subject)
    {
        var family = Grains.GetGrain<ITokenFamilyGrain>(new FamilyKey(ProviderName.Parse("test"), Subject.Parse(subject)).ToGrainKey());
        await family.ImportTokens(Endpoint.Issue(subject));
        return family;
    }

    /// <summary>Runs <paramref name="call"/> while moving the clock in <paramref name="step"/>s, until it ends (bounded).</summary>
    public async Task<T> WhileTimePasses<T>(Task<T> call, TimeSpan step, int maxSteps = 1000)
    {
        for (var i = 0; i < maxSteps && !call.IsCompleted; i++)
        {
            await Task.Delay(1);
            Clock.Advance(step);
        }
        Assert.True(call.IsCompleted, $"the call did not end within {maxSteps} steps of {step}");
        return await call;
    }

    /// <summary>Waits (real time, bounded) until <paramref name="condition"/> holds: for work a grain does in the background.</summary>
    public static async Task Eventually(Func<bool> condition, string what)
    {
        for (var i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), what);
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}
