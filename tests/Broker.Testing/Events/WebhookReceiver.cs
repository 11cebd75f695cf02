using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StandardWebhooks;

namespace Broker.Testing.Events;

/// <summary>One request the receiver got: whether the Standard Webhooks library accepted its signature, what it said, and when.</summary>
public sealed record ReceivedWebhook(string Id, bool Verified, string Type, string? Subject, JsonElement Data, DateTimeOffset EventTime, DateTimeOffset ReceivedAt);

/// <summary>
/// A service's webhook endpoint: a real Kestrel app on a loopback port that checks every request's signature with the
/// StandardWebhooks library (as a receiver would) and records it. It can be stopped and started again on the same port.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;

    /// <summary>Receives, records, then holds each request without answering until <see cref="Release"/> (a delivery in flight).</summary>
    public bool Holding { get; set; }

    public void Release() => _released.TrySetResult();

    private WebhookReceiver(int port, string secret)
    {
        Port = port;
        Secret = secret;
    }

    public int Port { get; }
    public string Secret { get; }
    public Uri Url => new($"http://127.0.0.1:{Port}/hooks/broker");
    public IReadOnlyCollection<ReceivedWebhook> Received => _received;

    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>A receiver on a free port, started unless <paramref name="started"/> is false (a receiver that is down).</summary>
    public static async Task<WebhookReceiver> CreateAsync(bool started = true)
    {
        var receiver = new WebhookReceiver(Processes.FreePort.Next(), NewSecret());
        if (started) await receiver.StartAsync();
        return receiver;
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, Port));
        var app = builder.Build();
        var webhook = new StandardWebhook(Secret);
        app.MapPost("/hooks/broker", async (HttpRequest request) =>
        {
            var holding = Holding && !_released.Task.IsCompleted;
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            var receivedAt = DateTimeOffset.UtcNow;
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
            var data = json.RootElement.GetProperty("data").Clone();
            _received.Enqueue(new ReceivedWebhook(request.Headers["webhook-id"].ToString(), verified,
                json.RootElement.GetProperty("type").GetString()!, data.GetProperty("subject").GetString(), data,
                json.RootElement.GetProperty("timestamp").GetDateTimeOffset(), receivedAt));
            if (holding)
            {
                // The sender may die meanwhile: then the request is aborted and nobody hears an answer.
                await Task.WhenAny(_released.Task, Task.Delay(Timeout.Infinite, request.HttpContext.RequestAborted));
                if (request.HttpContext.RequestAborted.IsCancellationRequested) return Results.Empty;
            }
            return verified ? Results.NoContent() : Results.Unauthorized();
        });
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is not { } app) return;
        _app = null;
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
