using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StandardWebhooks;

namespace Broker.Bench.Events;

/// <summary>One webhook as it arrived: its id, whether the signature verified, the event's time and when it was received.</summary>
public sealed record WebhookReceipt(string Id, bool Verified, string Type, DateTimeOffset EventTime, DateTimeOffset ReceivedAt);

/// <summary>A webhook receiver on real Kestrel that verifies every signature with the StandardWebhooks library and notes when each arrived.</summary>
public sealed class WebhookSink : IAsyncDisposable
{
    private readonly ConcurrentQueue<WebhookReceipt> _receipts = new();
    private WebApplication? _app;

    private WebhookSink(int port, string secret)
    {
        Port = port;
        Secret = secret;
    }

    public int Port { get; }
    public string Secret { get; }
    public Uri Url => new($"http://127.0.0.1:{Port}/hooks/broker");
    public IReadOnlyCollection<WebhookReceipt> Receipts => _receipts;

    public static async Task<WebhookSink> StartAsync()
    {
        var sink = new WebhookSink(Testing.Processes.FreePort.Next(), "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, sink.Port));
        var app = builder.Build();
        var webhook = new StandardWebhook(sink.Secret);
        app.MapPost("/hooks/broker", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            var received = DateTimeOffset.UtcNow;
            var verified = true;
            try
            {
                webhook.Verify(body, request.Headers);
            }
            catch (Exception)
            {
                verified = false;
            }
            using var json = JsonDocument.Parse(body);
            sink._receipts.Enqueue(new WebhookReceipt(request.Headers["webhook-id"].ToString(), verified,
                json.RootElement.GetProperty("type").GetString()!, json.RootElement.GetProperty("timestamp").GetDateTimeOffset(), received));
            return verified ? Results.NoContent() : Results.Unauthorized();
        });
        await app.StartAsync();
        sink._app = app;
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
