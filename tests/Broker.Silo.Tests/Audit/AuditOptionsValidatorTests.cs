using Broker.Silo.Audit;

namespace Broker.Silo.Tests.Audit;

public sealed class AuditOptionsValidatorTests
{
    [Fact]
    public void A_file_sink_without_a_path_is_refused_naming_the_setting()
    {
        var result = new AuditOptionsValidator().Validate(null, new AuditOptions { Sink = AuditSink.File });

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("Broker:Audit:Path ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(20_000_000)]
    public void A_capacity_out_of_range_is_refused(int capacity)
    {
        var result = new AuditOptionsValidator().Validate(null, new AuditOptions { Capacity = capacity });

        Assert.Contains(result.Failures!, f => f.StartsWith("Broker:Audit:Capacity ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_default_writes_to_standard_output()
    {
        Assert.True(new AuditOptionsValidator().Validate(null, new AuditOptions()).Succeeded);
        Assert.Equal(AuditSink.Stdout, new AuditOptions().Sink);
    }
}
