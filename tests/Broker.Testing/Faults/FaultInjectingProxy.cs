using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Broker.Testing.Faults;

/// <summary>What the proxy does to one matching request.</summary>
public abstract record Fault
{
    /// <summary>Answer 503 (with Retry-After when given) without forwarding.</summary>
    public sealed record ServiceUnavailable(TimeSpan? RetryAfter = null) : Fault;
    /// <summary>Answer 429 with Retry-After without forwarding.</summary>
    public sealed record TooManyRequests(TimeSpan RetryAfter) : Fault;
    /// <summary>Wait, then forward.</summary>
    public sealed record Latency(TimeSpan Delay) : Fault;
    /// <summary>Drop the connection without forwarding: the server never sees the request.</summary>
    public sealed record ResetBeforeForward : Fault;
    /// <summary>Forward, let the server process it, then drop the connection: the answer is lost.</summary>
    public sealed record ResetAfterForward : Fault;
    /// <summary>Forward and remove a field from the JSON answer (a provider that omits it).</summary>
    public sealed record StripField(string Name) : Fault;
    /// <summary>Hold the request until <paramref name="Release"/> completes, then forward it (even if its sender is gone by then).</summary>
    public sealed record Hold(Task Release) : Fault;
    /// <summary>Forward, then send the server's status with an empty body (a server that refuses without an OAuth error).</summary>
    public sealed record StripBody : Fault;
    /// <summary>Run an action (stop a database, ...), then forward.</summary>
    public sealed record BeforeForward(Func<Task> Action) : Fault;
    /// <summary>Forward, then pad the JSON answer with an extra member to at least <paramref name="Bytes"/> bytes (a server that sends too much).</summary>
    public sealed record Oversize(int Bytes) : Fault;
}

/// <summary>
/// Fault injection, hand-written on purpose: a reverse proxy in front of the real test authorization server
/// that forwards everything, except that requests matching a rule (path and grant_type) get a fault. The
/// broker is pointed at the proxy's token and revocation endpoints; discovery stays on the real server.
/// </summary>
public sealed class FaultInjectingProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Rule> _rules = new();
    private readonly HttpClient _upstream;
    private int _forwarded;
    private int _faulted;

    private sealed class Rule(Fault fault, string? grantType, int times)
    {
        public Fault Fault { get; } = fault;
        public string? GrantType { get; } = grantType;
        public int Remaining = times;
    }

    private FaultInjectingProxy(WebApplication app, HttpClient upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    public Uri Address { get; private init; } = null!;

    /// <summary>Requests forwarded to the server.</summary>
    public int Forwarded => Volatile.Read(ref _forwarded);

    /// <summary>Requests that met a fault (forwarded or not).</summary>
    public int Faulted => Volatile.Read(ref _faulted);

    /// <param name="port">0 for a free port; the port of a proxy disposed before, to stand for a server that comes back.</param>
    public static async Task<FaultInjectingProxy> StartAsync(Uri upstream, int port = 0)
    {
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = upstream };
        FaultInjectingProxy? proxy = null;
        var (app, address) = await Hosting.LoopbackWebApp.StartAsync(app => app.Run(context => proxy!.HandleAsync(context)), port: port);
        proxy = new FaultInjectingProxy(app, client) { Address = address };
        return proxy;
    }

    /// <summary>Applies <paramref name="fault"/> to the next <paramref name="times"/> token requests of that grant type (null: any request).</summary>
    public void Inject(Fault fault, string? grantType, int times = 1) => _rules.Enqueue(new Rule(fault, grantType, times));

    public void Clear() => _rules.Clear();

    public Uri Endpoint(string path) => new(Address, path);

    private async Task HandleAsync(HttpContext context)
    {
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var form = context.Request.HasFormContentType
            ? System.Web.HttpUtility.ParseQueryString(System.Text.Encoding.UTF8.GetString(body.ToArray()))
            : null;
        var rule = Match(form?["grant_type"]);
        if (rule is not null) Interlocked.Increment(ref _faulted);

        switch (rule?.Fault)
        {
            case Fault.ServiceUnavailable unavailable:
                context.Response.StatusCode = 503;
                if (unavailable.RetryAfter is { } delay) context.Response.Headers.RetryAfter = ((int)delay.TotalSeconds).ToString();
                return;
            case Fault.TooManyRequests tooMany:
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = ((int)tooMany.RetryAfter.TotalSeconds).ToString();
                return;
            case Fault.ResetBeforeForward:
                context.Abort();
                return;
            case Fault.Latency latency:
                await Task.Delay(latency.Delay);
                break;
            case Fault.BeforeForward before:
                await before.Action();
                break;
            case Fault.Hold hold:
                await hold.Release;
                break;
        }

        using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
        if (body.Length > 0)
        {
            forward.Content = new ByteArrayContent(body.ToArray());
            if (context.Request.ContentType is { } type) forward.Content.Headers.TryAddWithoutValidation("Content-Type", type);
        }
        if (context.Request.Headers.Authorization.Count > 0)
            forward.Headers.TryAddWithoutValidation("Authorization", context.Request.Headers.Authorization.ToString());
        using var response = await _upstream.SendAsync(forward);
        Interlocked.Increment(ref _forwarded);
        var content = await response.Content.ReadAsByteArrayAsync();

        if (rule?.Fault is Fault.ResetAfterForward)
        {
            // The server has processed the request; the client never learns the outcome.
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            context.Abort();
            return;
        }
        if (rule?.Fault is Fault.StripField strip && JsonNode.Parse(content) is JsonObject json)
        {
            json.Remove(strip.Name);
            content = System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
        }
        // An empty answer (a revocation's 200) becomes a padded JSON object too.
        if (rule?.Fault is Fault.Oversize oversize && (content.Length == 0 ? new JsonObject() : JsonNode.Parse(content)) is JsonObject padded)
        {
            padded["padding"] = new string('x', Math.Max(0, oversize.Bytes - content.Length));
            content = System.Text.Encoding.UTF8.GetBytes(padded.ToJsonString());
        }

        context.Response.StatusCode = (int)response.StatusCode;
        if (rule?.Fault is Fault.StripBody) return;
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            if (header.Key is "Transfer-Encoding" or "Content-Length") continue;
            context.Response.Headers[header.Key] = header.Value.ToArray();
        }
        await context.Response.Body.WriteAsync(content);
    }

    private Rule? Match(string? grantType)
    {
        foreach (var rule in _rules)
        {
            if (rule.GrantType is not null && rule.GrantType != grantType) continue;
            if (Interlocked.Decrement(ref rule.Remaining) >= 0) return rule;
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        _upstream.Dispose();
        await _app.DisposeAsync();
    }
}
