using System.Buffers.Binary;
using System.Collections.Concurrent;
using Broker.Testing.Hosting;
using Broker.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Broker.Client.Tests.Grpc;

/// <summary>
/// A fault injector in place of the broker: answers each TokenBroker method as the test scripts it (per attempt),
/// with faults the real broker cannot be made to produce on demand: UNAVAILABLE, a status with a RetryInfo, a call
/// that never answers. It speaks the gRPC wire format over cleartext HTTP/2 and counts every attempt per method.
/// </summary>
public sealed class GrpcFaultInjector : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private Microsoft.AspNetCore.Builder.WebApplication _app = null!;

    private GrpcFaultInjector(Func<string, int, HttpContext, Task> answer) => Answer = answer;

    /// <summary>The script: method name, attempt number (1-based), the request to answer.</summary>
    private Func<string, int, HttpContext, Task> Answer { get; }

    public Uri Address { get; private set; } = null!;

    public int AttemptsOf(string method) => _attempts.GetValueOrDefault(method);

    public static async Task<GrpcFaultInjector> StartAsync(Func<string, int, HttpContext, Task> answer)
    {
        var injector = new GrpcFaultInjector(answer);
        (injector._app, injector.Address) = await LoopbackWebApp.StartAsync(app =>
            app.MapPost($"/{TokenBroker.Descriptor.FullName}/{{method}}", async (string method, HttpContext context) =>
            {
                var attempt = injector._attempts.AddOrUpdate(method, 1, (_, n) => n + 1);
                await injector.Answer(method, attempt, context);
            }), protocols: HttpProtocols.Http2);
        return injector;
    }

    /// <summary>A trailers-only answer with this status (what a gRPC server sends for an error), and its details.</summary>
    public static Task Fail(HttpContext context, global::Grpc.Core.StatusCode code, params IMessage[] details)
    {
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = "injected fault";
        if (details.Length > 0)
        {
            var status = new Google.Rpc.Status { Code = (int)code, Message = "injected fault" };
            status.Details.AddRange(details.Select(Any.Pack));
            context.Response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray());
        }
        return Task.CompletedTask;
    }

    /// <summary>A successful answer carrying one message.</summary>
    public static async Task Succeed(HttpContext context, IMessage message)
    {
        context.Response.ContentType = "application/grpc";
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        await context.Response.Body.WriteAsync(frame);
        context.Response.AppendTrailer("grpc-status", "0");
    }

    /// <summary>Never answers; returns when the client gives up (its deadline) or the injector stops.</summary>
    public static async Task Hang(HttpContext context)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public static ErrorInfo Reason(string reason) => new() { Reason = reason, Domain = "broker.v1" };

    public static RetryInfo RetryAfter(TimeSpan delay) => new() { RetryDelay = Duration.FromTimeSpan(delay) };

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
