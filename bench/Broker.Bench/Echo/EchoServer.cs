using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Bench.Echo;

/// <summary>A bare gRPC unary echo on Kestrel h2c loopback: the ceiling any gRPC service here can reach.</summary>
public sealed class EchoServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EchoServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<EchoServer> StartAsync()
    {
        // HTTP/2 only: cleartext gRPC needs prior knowledge, as on the broker's gRPC port.
        var (app, address) = await Testing.Hosting.LoopbackWebApp.StartAsync(app => app.MapGrpcService<EchoService>(),
            services => services.AddGrpc(), HttpProtocols.Http2);
        var port = address.Port;
        return new EchoServer(app, port);
    }

    /// <summary>The echo as a process of its own (<c>serve-echo --port N</c>), for the pinned comparison; runs until killed.</summary>
    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        await app.RunAsync();
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private sealed class EchoService : Echo.EchoBase
    {
        // One reply per size, made once and only ever read: the echo stays a bare call.
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, EchoMessage> Replies = new();

        public override Task<EchoMessage> Say(EchoMessage request, ServerCallContext context) => Task.FromResult(request.ReplyBytes > 0
            ? Replies.GetOrAdd(Math.Min(request.ReplyBytes, 64 * 1024), n => new EchoMessage { Text = new string('x', n) })
            : request);
    }
}
