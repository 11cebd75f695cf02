using System.Collections;
using System.Collections.Concurrent;
using System.Net;
using Broker.Testing.Hosting;
using Broker.V1;
using CsCheck;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Broker.Silo.Tests.Security;

/// <summary>
/// Requests for every method of the service, built from the contract's descriptors: each field of each request message
/// gets a generated value of its type (strings, numbers, booleans, repeated fields, Timestamps in and out of range), so
/// a field added to the contract is fuzzed without touching this test. Whatever a call answers, it is never INTERNAL or
/// UNKNOWN, and every refusal is typed (an ErrorInfo of the broker's domain).
/// </summary>
public sealed partial class HostileInputTests
{
    private const int EveryFieldIterations = 4_000; // nine methods now: each must get past validation at least once

    // Often a configured provider and a well-formed subject, so the calls get past the first checks and reach the rest.
    private static readonly Gen<string> FieldProvider = Gen.Frequency((2, Hostile), (3, Gen.OneOf("test", "other")));
    private static readonly Gen<string> FieldSubject = Gen.Frequency((2, Hostile), (3, Gen.Int[0, 50].Select(i => $"fuzz-field-{i}")));

    // Often shaped like a completion handle (43 base64url characters), so CompleteAuthorization reaches its grain.
    private static readonly Gen<string> FieldCompletion = Gen.Frequency((2, Hostile),
        (3, Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"].Array[43].Select(c => new string(c))));

    // Often a method and an absolute URL, so CreateProof gets past its own checks and reaches its grain.
    private static readonly Gen<string> FieldHttpMethod = Gen.Frequency((2, Hostile), (3, Gen.OneOf("GET", "POST", "PUT")));
    private static readonly Gen<string> FieldUrl = Gen.Frequency((2, Hostile), (3, Gen.OneOf("https://api.example/items", "https://api.example/a?b=c")));

    private static readonly Gen<string> AnyString = Gen.Frequency(
        (3, Hostile),
        (2, Gen.OneOf("api.read", "openid", "Bearer", "DPoP", "https://api.example/", "https://api.example/#x", "http://127.0.0.1/")),
        (1, Gen.String[Gen.Char['!', '~'], 1, 64]));

    // Seconds and nanos each in or out of Timestamp's range (0001-01-01 to 9999-12-31, nanos 0-999,999,999).
    private const long MinSeconds = -62_135_596_800;
    private const long MaxSeconds = 253_402_300_799;
    private static readonly Gen<Timestamp?> AnyTimestamp = Gen.Frequency(
        (1, Gen.Const((Timestamp?)null)),
        (3, Gen.Select(
            Gen.OneOf(Gen.Long, Gen.Long[MinSeconds, MaxSeconds], Gen.Long[1_700_000_000, 1_900_000_000],
                Gen.OneOf(MinSeconds, MinSeconds - 1, MaxSeconds, MaxSeconds + 1, 0L, long.MaxValue, long.MinValue)),
            Gen.OneOf(Gen.Int, Gen.Int[0, 999_999_999], Gen.OneOf(-1, 0, 999_999_999, 1_000_000_000, int.MinValue, int.MaxValue)))
            .Select(t => (Timestamp?)new Timestamp { Seconds = t.Item1, Nanos = t.Item2 })));

    private static Gen<object?> ValueOf(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.String when field.Name == "provider" => FieldProvider.Select(v => (object?)v),
        FieldType.String when field.Name == "subject" => FieldSubject.Select(v => (object?)v),
        FieldType.String when field.Name == "completion" => FieldCompletion.Select(v => (object?)v),
        FieldType.String when field.Name == "http_method" => FieldHttpMethod.Select(v => (object?)v),
        FieldType.String when field.Name == "url" => FieldUrl.Select(v => (object?)v),
        FieldType.String => AnyString.Select(v => (object?)v),
        FieldType.Bool => Gen.Bool.Select(v => (object?)v),
        FieldType.UInt32 or FieldType.Fixed32 => Gen.OneOf(Gen.UInt, Gen.UInt[0, 100_000], Gen.OneOf(0u, 1u, 86_400u, 86_401u, uint.MaxValue)).Select(v => (object?)v),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Gen.OneOf(Gen.Int, Gen.OneOf(0, -1, 1, int.MinValue, int.MaxValue)).Select(v => (object?)v),
        FieldType.UInt64 or FieldType.Fixed64 => Gen.OneOf(Gen.ULong, Gen.OneOf(0ul, ulong.MaxValue)).Select(v => (object?)v),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Gen.OneOf(Gen.Long, Gen.OneOf(0L, -1L, long.MinValue, long.MaxValue)).Select(v => (object?)v),
        FieldType.Double => Gen.OneOf(Gen.Double, Gen.OneOf(double.NaN, double.PositiveInfinity, -1.0)).Select(v => (object?)v),
        FieldType.Float => Gen.OneOf(Gen.Float, Gen.OneOf(float.NaN, float.NegativeInfinity)).Select(v => (object?)v),
        FieldType.Bytes => Gen.Byte.Array[0, 64].Select(b => (object?)ByteString.CopyFrom(b)),
        FieldType.Enum => Gen.OneOf(Gen.Int, Gen.Int[0, 4]).Select(v => (object?)v),
        FieldType.Message when field.MessageType.FullName == Timestamp.Descriptor.FullName => AnyTimestamp.Select(v => (object?)v),
        FieldType.Message => MessageOf(field.MessageType).Select(v => (object?)v),
        _ => throw new NotSupportedException($"{field.FullName}: the hostile-input test has no generator for {field.FieldType}; add one."),
    };

    private static Gen<object?> ElementOf(FieldDescriptor field) => ValueOf(field);

    /// <summary>A message of this type with every field set to a generated value (repeated fields 0-3 elements).</summary>
    private static Gen<IMessage> MessageOf(MessageDescriptor descriptor)
    {
        var fields = descriptor.Fields.InDeclarationOrder();
        var perField = fields.Select(f => f.IsRepeated
            ? ElementOf(f).Array[0, 3].Select(values => (object?)values)
            : ValueOf(f)).ToArray();
        var all = perField.Aggregate(Gen.Const(Array.Empty<object?>()), (sofar, next) => sofar.SelectMany(done => next.Select(v => (object?[])[.. done, v])));
        return all.Select(values =>
        {
            var message = (IMessage)Activator.CreateInstance(descriptor.ClrType)!;
            for (var i = 0; i < fields.Count; i++)
            {
                var field = fields[i];
                if (field.IsRepeated)
                {
                    var list = (IList)field.Accessor.GetValue(message);
                    foreach (var value in (object?[])values[i]!) if (value is not null) list.Add(value);
                }
                else if (values[i] is { } value)
                {
                    field.Accessor.SetValue(message, field.FieldType == FieldType.Enum ? (object)(int)value : value);
                }
            }
            return message;
        });
    }

    private static string Shown(IMessage request) => (request.ToString() ?? "") is var text && text.Length > 600 ? text[..600] + "..." : text;

    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    /// <summary>
    /// Calls a method as what it is. A stream (WatchEvents) that accepted its request stays open: still open after a short
    /// deadline counts as accepted; a refusal comes before it starts.
    /// </summary>
    private static async Task CallAsync(CallInvoker invoker, MethodDescriptor m, byte[] payload, DateTime? deadline)
    {
        var service = TokenBroker.Descriptor.FullName;
        if (!m.IsServerStreaming)
        {
            await invoker.AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, service, m.Name, Raw, Raw), null, new CallOptions(deadline: deadline), payload).ResponseAsync;
            return;
        }
        using var call = invoker.AsyncServerStreamingCall(new Method<byte[], byte[]>(MethodType.ServerStreaming, service, m.Name, Raw, Raw), null,
            new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(500)), payload);
        try
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
        {
        }
    }

    [Fact]
    public async Task Generated_requests_over_every_field_of_every_method_never_answer_internal_or_unknown()
    {
        var invoker = broker.Silo.Channel.WithBearer(TestCallers.AdminApiKey);
        var service = TokenBroker.Descriptor;
        var calls = service.Methods.Select(m => (Method: m, Request: MessageOf(m.InputType))).ToArray();
        var answered = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();

        await Gen.Int[0, calls.Length - 1].SelectMany(i => calls[i].Request.Select(r => (Call: calls[i].Method, Request: r))).SampleAsync(async t =>
        {
            var (method, request) = t;
            var code = StatusCode.OK;
            try
            {
                await CallAsync(invoker, method, request.ToByteArray(), DateTime.UtcNow.AddMinutes(1));
            }
            catch (RpcException ex)
            {
                code = ex.StatusCode;
                var info = ex.GetRpcStatus()?.GetDetail<ErrorInfo>();
                if (code is StatusCode.Internal or StatusCode.Unknown || info?.Domain != "broker.v1")
                    failures.Enqueue($"{method.Name} answered {code} ({info?.Reason ?? "no ErrorInfo"}: {ex.Status.Detail}) to {Shown(request)}");
            }
            answered.AddOrUpdate($"{method.Name} {code}", 1, (_, n) => n + 1);
        }, iter: EveryFieldIterations, threads: 4);

        var summary = string.Join(", ", answered.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}"));
        Assert.True(failures.IsEmpty, $"{failures.Count} calls answered INTERNAL, UNKNOWN or an untyped status, e.g.:\n{string.Join("\n", failures.Take(8))}\nall answers: {summary}");
        // Every method was called, and each got past validation at least once (a well-formed call answers something else).
        foreach (var m in service.Methods)
            Assert.True(answered.Keys.Count(k => k.StartsWith(m.Name + " ", StringComparison.Ordinal)) > 1, $"{m.Name} got only one kind of answer: {summary}");
        using var health = await broker.Silo.Http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory]
    [InlineData(253_402_300_800L, 0)] // 10000-01-01: past Timestamp's range
    [InlineData(MinSeconds - 1, 0)]
    [InlineData(1_800_000_000L, -1)]
    [InlineData(1_800_000_000L, 1_000_000_000)]
    public async Task An_import_with_an_expiry_outside_timestamp_range_is_invalid_argument_and_changes_nothing(long seconds, int nanos)
    {
        var subject = $"fuzz-ts-{seconds}-{nanos}";
        var before = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = subject });

        await Broker.Testing.GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT", () => broker.Silo.Client.ImportTokensAsync(new ImportTokensRequest
        {
            Provider = "test", Subject = subject, AccessToken = "at-1", RefreshToken = "rt-1",
            AccessTokenExpiresAt = new Timestamp { Seconds = seconds, Nanos = nanos },
        }).ResponseAsync);

        Assert.Equal(before, await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = subject }));
    }

    [Theory]
    [InlineData(MaxSeconds, 999_999_999)]
    [InlineData(MinSeconds, 0)]
    public async Task An_import_at_the_edges_of_timestamp_range_is_served_or_refused_never_internal(long seconds, int nanos)
    {
        var subject = $"fuzz-edge-{seconds}";
        var calls = new Func<Task>[]
        {
            () => broker.Silo.Client.ImportTokensAsync(new ImportTokensRequest
            {
                Provider = "test", Subject = subject, AccessToken = "at-edge", RefreshToken = "rt-edge",
                AccessTokenExpiresAt = new Timestamp { Seconds = seconds, Nanos = nanos },
            }).ResponseAsync,
            () => broker.Silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject, MinTtlSeconds = 86_400 }).ResponseAsync,
            () => broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = subject }).ResponseAsync,
        };
        foreach (var call in calls)
        {
            var ex = await Record.ExceptionAsync(call);
            Assert.True(ex is null or RpcException { StatusCode: not (StatusCode.Internal or StatusCode.Unknown) }, $"answered {ex}");
        }
    }

    [Fact]
    public async Task Malformed_protobuf_for_every_method_is_invalid_argument_never_unknown()
    {
        var invoker = broker.Silo.Channel.WithBearer(TestCallers.AdminApiKey);
        var service = TokenBroker.Descriptor;
        // Field 1 (a string in every request) holding invalid UTF-8; a truncated varint; a length beyond the message.
        byte[][] invalid = [[0x0a, 0x01, 0xc3], [0x18], [0x0a, 0x7f, 0x61], [0x12, 0x02, 0xff, 0xfe]];
        foreach (var m in service.Methods)
        {
            foreach (var payload in invalid)
            {
                var ex = await Assert.ThrowsAsync<RpcException>(() => CallAsync(invoker, m, payload, deadline: null));
                Assert.True(ex.StatusCode == StatusCode.InvalidArgument, $"{m.Name} answered {ex.StatusCode} ({ex.Status.Detail}) to {Convert.ToHexString(payload)}");
                Assert.Equal("INVALID_ARGUMENT", ex.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason);
            }
        }
        // Random bytes: whatever they parse to, the answer is typed and never INTERNAL or UNKNOWN.
        await Gen.Select(Gen.Int[0, service.Methods.Count - 1], Gen.Byte.Array[1, 48]).SampleAsync(async t =>
        {
            var method = service.Methods[t.Item1];
            try
            {
                await CallAsync(invoker, method, t.Item2, deadline: null);
            }
            catch (RpcException ex)
            {
                Assert.True(ex.StatusCode is not (StatusCode.Internal or StatusCode.Unknown) && ex.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Domain == "broker.v1",
                    $"{method.Name} answered {ex.StatusCode} ({ex.Status.Detail}) to {Convert.ToHexString(t.Item2)}");
            }
        }, iter: 500, threads: 4);
    }
}
