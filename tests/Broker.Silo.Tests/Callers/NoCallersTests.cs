using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Broker.Silo.Tests.Callers;

/// <summary>What a broker with no caller configured lets through: everything in embedded mode (development), nothing in cluster mode.</summary>
[Collection(ClusterCollection.Name)]
public sealed class NoCallersTests(ClusterInfrastructure infrastructure)
{
    [Fact]
    public async Task Embedded_mode_without_callers_accepts_every_call_as_the_development_caller()
    {
        var logs = new CapturingLoggerProvider();
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.For("test", infrastructure.Server),
            WithoutCallers = true,
            LoggerProvider = logs,
        });
        var anonymous = new TokenBroker.TokenBrokerClient(silo.Channel); // no credential at all

        var description = await anonymous.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "dev" });

        Assert.Equal("none", description.Status);
        Assert.Contains(logs.Entries, e => e.StartsWith("Broker.Audit ") && e.Contains("Caller=development"));
    }

    [Fact]
    public async Task Cluster_mode_without_callers_refuses_every_call()
    {
        var start = await infrastructure.NewClusterAsync(withoutCallers: true);
        await using var silo = await start();
        var anonymous = new TokenBroker.TokenBrokerClient(silo.Channel);
        var withKey = new TokenBroker.TokenBrokerClient(silo.Channel.WithBearer(TestCallers.AdminApiKey));

        foreach (var client in new[] { anonymous, withKey })
        {
            await GrpcAssert.FailsWith(StatusCode.Unauthenticated, "UNAUTHENTICATED",
                () => client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "x" }).ResponseAsync);
            await GrpcAssert.FailsWith(StatusCode.Unauthenticated, "UNAUTHENTICATED",
                () => client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test" }).ResponseAsync);
        }
    }
}
