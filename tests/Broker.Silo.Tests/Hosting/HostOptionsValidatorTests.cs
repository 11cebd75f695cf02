using Broker.Silo.Hosting;

namespace Broker.Silo.Tests.Hosting;

public sealed class HostOptionsValidatorTests
{
    [Fact]
    public void Embedded_mode_needs_neither_redis_nor_postgresql()
    {
        Assert.True(new ClusterModeOptionsValidator(BrokerMode.Embedded).Validate(null, new ClusterModeOptions()).Succeeded);
    }

    [Fact]
    public void Cluster_mode_without_storage_names_both_settings()
    {
        var failures = new ClusterModeOptionsValidator(BrokerMode.Cluster).Validate(null, new ClusterModeOptions()).Failures ?? [];

        Assert.Contains(failures, f => f.StartsWith("Broker:Cluster:Redis is required", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Broker:Cluster:PostgreSql is required", StringComparison.Ordinal));
    }

    [Fact]
    public void The_same_port_for_grpc_and_http_is_refused_naming_both_settings()
    {
        var failures = new HttpEndpointOptionsValidator().Validate(null, new HttpEndpointOptions { GrpcPort = 5300, HttpPort = 5300 }).Failures ?? [];

        Assert.Contains("Broker:Http:GrpcPort and Broker:Http:HttpPort must differ.", failures);
    }

    [Fact]
    public void A_mode_the_binder_accepted_as_a_number_is_refused_naming_the_setting()
    {
        var result = new BrokerHostOptionsValidator().Validate(null, new BrokerHostOptions { Mode = (BrokerMode)7 });

        Assert.Equal(["Broker:Mode must be Embedded or Cluster (was 7)."], result.Failures);
        Assert.True(new BrokerHostOptionsValidator().Validate(null, new BrokerHostOptions { Mode = BrokerMode.Cluster }).Succeeded);
    }
}
