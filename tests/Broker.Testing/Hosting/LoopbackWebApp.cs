using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Testing.Hosting;

/// <summary>A small silent Kestrel app on a free loopback port: test APIs, proxies, baselines.</summary>
public static class LoopbackWebApp
{
    /// <returns>The started app and its base address (ending in '/').</returns>
    /// <param name="port">0 for a free port; a given one to come back on the port of an app stopped before.</param>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(Action<WebApplication> map,
        Action<IServiceCollection>? services = null, HttpProtocols protocols = HttpProtocols.Http1AndHttp2, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = protocols));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(bound.TrimEnd('/') + "/"));
    }
}
