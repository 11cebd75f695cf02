using Broker.V1;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client.Configuration;

namespace Broker.Client.Grpc;

/// <summary>
/// Retries of UNAVAILABLE for the methods the contract marks safe to send again (their <c>idempotency_level</c> in
/// the proto): a token read can always be asked again; a begun authorization or an import cannot.
/// </summary>
internal static class IdempotentRetry
{
    public static MethodConfig Policy(int attempts)
    {
        var config = new MethodConfig
        {
            RetryPolicy = new RetryPolicy
            {
                MaxAttempts = attempts,
                InitialBackoff = TimeSpan.FromMilliseconds(100),
                MaxBackoff = TimeSpan.FromSeconds(2),
                BackoffMultiplier = 2,
                RetryableStatusCodes = { StatusCode.Unavailable },
            },
        };
        foreach (var method in TokenBroker.Descriptor.Methods.Where(IsIdempotent))
            config.Names.Add(new MethodName { Service = TokenBroker.Descriptor.FullName, Method = method.Name });
        return config;
    }

    private static bool IsIdempotent(MethodDescriptor method) => method.GetOptions()?.IdempotencyLevel
        is MethodOptions.Types.IdempotencyLevel.Idempotent or MethodOptions.Types.IdempotencyLevel.NoSideEffects;
}
