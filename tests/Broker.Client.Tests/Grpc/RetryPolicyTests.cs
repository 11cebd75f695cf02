using Broker.V1;
using Google.Protobuf.Reflection;
using Grpc.Net.Client;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broker.Client.Tests.Grpc;

/// <summary>The channel AddBrokerClient configures retries exactly the methods the contract marks idempotent.</summary>
public sealed class RetryPolicyTests
{
    private static readonly string[] Reads = ["DescribeFamily", "GetAccessToken", "GetClientToken", "WatchEvents"];

    [Fact]
    public void The_client_retries_exactly_the_methods_the_descriptors_mark_idempotent()
    {
        var marked = TokenBroker.Descriptor.Methods
            .Where(m => m.GetOptions()?.IdempotencyLevel is MethodOptions.Types.IdempotencyLevel.Idempotent
                or MethodOptions.Types.IdempotencyLevel.NoSideEffects)
            .Select(m => $"{TokenBroker.Descriptor.FullName}/{m.Name}")
            .Order(StringComparer.Ordinal);

        var retried = ConfiguredChannel().ServiceConfig!.MethodConfigs
            .Where(c => c.RetryPolicy is { MaxAttempts: 3 })
            .SelectMany(c => c.Names)
            .Select(n => $"{n.Service}/{n.Method}")
            .Order(StringComparer.Ordinal);

        Assert.Equal(marked, retried);
    }

    [Fact]
    public void Only_reads_are_marked_idempotent()
    {
        // A begun authorization, an import or a revocation sent twice is not the same as once.
        var marked = TokenBroker.Descriptor.Methods
            .Where(m => m.GetOptions()?.IdempotencyLevel is not (null or MethodOptions.Types.IdempotencyLevel.IdempotencyUnknown))
            .Select(m => m.Name)
            .Order(StringComparer.Ordinal);

        Assert.Equal(Reads, marked);
    }

    /// <summary>The channel options AddBrokerClient sets for the typed client, as the client factory applies them.</summary>
    private static GrpcChannelOptions ConfiguredChannel()
    {
        var services = new ServiceCollection();
        services.AddBrokerClient(o =>
        {
            o.Address = new Uri("http://127.0.0.1:1");
            o.MaxAttempts = 3;
        });
        using var provider = services.BuildServiceProvider();
        var factoryOptions = provider.GetRequiredService<IOptionsMonitor<GrpcClientFactoryOptions>>().Get(nameof(TokenBroker.TokenBrokerClient));
        var channel = new GrpcChannelOptions();
        foreach (var configure in factoryOptions.ChannelOptionsActions) configure(channel);
        return channel;
    }
}
