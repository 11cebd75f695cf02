using System.Net;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Client.Tests;

/// <summary>
/// An embedded broker, the test authorization server, and a protected API (a resource server that accepts
/// only tokens the authorization server introspects as active), plus a service's DI container using the client.
/// </summary>
public sealed class ClientFixture : IAsyncLifetime
{
    public TestAuthorizationServer Server { get; private set; } = null!;
    public BrokerSilo Silo { get; private set; } = null!;
    public DirectClient Direct { get; private set; } = null!;
    public Uri Api { get; private set; } = null!;
    public ServiceProvider Services { get; private set; } = null!;
    private WebApplication _api = null!;

    public async Task InitializeAsync()
    {
        Server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        Silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", Server), new() { ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00" }),
        });
        await Server.AddRedirectUriAsync("broker", Silo.RedirectUri("test"));
        Direct = new DirectClient(Server);

        (_api, Api) = await LoopbackWebApp.StartAsync(api =>
        {
            api.MapGet("/data", async (HttpContext context) =>
            {
                var header = context.Request.Headers.Authorization.ToString();
                if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !await Server.IsActiveAsync(header["Bearer ".Length..]))
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                    return Results.StatusCode(401);
                }
                return Results.Text("data");
            });
            api.MapGet("/admin", (HttpContext context) =>
            {
                context.Response.Headers.WWWAuthenticate = "Bearer error=\"insufficient_scope\", scope=\"api.admin\"";
                return Results.StatusCode(403);
            });
            api.MapGet("/busy", (HttpContext context) =>
            {
                context.Response.Headers.RetryAfter = "7";
                return Results.StatusCode(429);
            });
        });

        Services = ClientServices();
    }

    /// <summary>A service's container using the client against this broker and API; <paramref name="time"/> is its clock.</summary>
    public ServiceProvider ClientServices(TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        if (time is not null) services.AddSingleton(time);
        services.AddBrokerClient(o =>
        {
            o.Address = new Uri($"http://127.0.0.1:{Silo.GrpcPort}");
            o.ApiKey = TestCallers.AdminApiKey;
        });
        services.AddHttpClient("user-api", c => c.BaseAddress = Api).AddBrokerAccessToken("test", (_, request) => request.Headers.GetValues("X-User").Single());
        services.AddHttpClient("service-api", c => c.BaseAddress = Api).AddBrokerClientToken("test", "api.read");
        return services.BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await Services.DisposeAsync();
        await _api.DisposeAsync();
        await Silo.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>One broker for all client tests, run one after another: the token counters must see only their own calls.</summary>
[CollectionDefinition(Name)]
public sealed class ClientCollection : ICollectionFixture<ClientFixture>
{
    public const string Name = "client";
}
