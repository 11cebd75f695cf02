using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using System.Text.Json;
using Broker.Silo.Tests.Cluster;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;

namespace Broker.Silo.Tests.Audit;

[Collection(ClusterCollection.Name)]
public sealed class AuditSinkTests(ClusterInfrastructure infrastructure)
{
    [Fact]
    public async Task The_file_sink_appends_one_json_line_per_call()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-audit-{Guid.NewGuid():N}.jsonl");
        try
        {
            await using (var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
            {
                Settings = ProviderSettings.Merge(ProviderSettings.For("test", infrastructure.Server), new()
                {
                    ["Broker:Audit:Sink"] = "File",
                    ["Broker:Audit:Path"] = path,
                }),
            }))
            {
                var client = silo.Client;
                await client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "audited" });
                await client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "audited" });
            }

            var described = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.GetProperty("EventId").GetInt32() == (int)AuditEvent.FamilyDescribed).ToList();
            Assert.Equal(2, described.Count);
            Assert.All(described, e =>
            {
                Assert.Equal(TestCallers.AdminName, e.GetProperty("State").GetProperty("Caller").GetString());
                Assert.StartsWith($"Audit: {TestCallers.AdminName} described provider=test family=", e.GetProperty("Message").GetString(), StringComparison.Ordinal);
                Assert.DoesNotContain("audited", e.GetRawText(), StringComparison.Ordinal); // the family by its log id only
            });
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public sealed class AuditSinkProvidersTests
{
    // Before: the event source's logger, on by default, said yes to every audit event, so each one also went through
    // the logging framework to every default provider while the writer already wrote it.
    [Theory]
    [InlineData("Stdout", false)]
    [InlineData("File", false)]
    [InlineData("Logging", true)]
    public async Task Only_the_logging_sink_hands_audit_events_to_the_default_logging_providers(string sink, bool logged)
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-audit-{Guid.NewGuid():N}.jsonl");
        await using var app = Broker.Silo.Hosting.BrokerHost.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Audit:Sink"] = sink,
            ["Broker:Audit:Path"] = path,
        }));

        var audit = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Broker.Silo.Audit.AuditLog.Category);

        Assert.Equal(logged, audit.IsEnabled(LogLevel.Information));
        File.Delete(path);
    }
}
