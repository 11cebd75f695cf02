using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;

namespace Broker.Silo.Tests;

/// <summary>One test authorization server and one embedded-mode silo with provider "test" (and "other") configured against it.</summary>
public class EmbeddedBroker : IAsyncLifetime
{
    public TestAuthorizationServer Server { get; private set; } = null!;
    public BrokerSilo Silo { get; private set; } = null!;

    protected virtual TestAuthorizationServerOptions ServerOptions => new() { AccessTokenLifetime = TimeSpan.FromMinutes(10) };

    protected virtual Dictionary<string, string?> ExtraSettings => [];

    /// <summary>Everything the silo logs, for tests that read it.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public async Task InitializeAsync()
    {
        Server = await TestAuthorizationServer.StartAsync(ServerOptions);
        Silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(
                ProviderSettings.For("test", Server),
                ProviderSettings.For("other", Server),
                new() { ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00" },
                ExtraSettings),
            LoggerProvider = Logs,
        });
        await Server.AddRedirectUriAsync("broker", Silo.RedirectUri("test"));
        await Server.AddRedirectUriAsync("broker", Silo.RedirectUri("other"));
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Server.DisposeAsync();
    }
}
