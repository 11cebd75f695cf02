using System.Diagnostics.Metrics;
using Broker.Grains.Telemetry;
using Broker.Silo.Audit;
using Broker.Silo.Callers;
using Broker.Testing;
using Broker.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Broker.Silo.Tests.Callers;

/// <summary>Each TokenBroker method's (broker.v1.rpc) option: the grant and the audit event the silo derives from it.</summary>
public sealed class RpcOptionsTests
{
    // Today's grants and audit event ids, pinned: a changed option in the proto changes who may call, or the trail.
    [Theory]
    [InlineData("GetAccessToken", CallerPermission.Read, 6000)]
    [InlineData("GetClientToken", CallerPermission.GetClientTokens, 6000)]
    [InlineData("BeginAuthorization", CallerPermission.BeginAuthorization, 6002)]
    [InlineData("ImportTokens", CallerPermission.Import, 6004)]
    [InlineData("RevokeFamily", CallerPermission.Revoke, 6005)]
    [InlineData("DescribeFamily", CallerPermission.Read, 6006)]
    public void Each_method_declares_its_grant_and_audit_event(string method, CallerPermission permission, int eventId)
    {
        var action = CallerAction.Named(method);

        Assert.Equal(permission, action.Permission);
        Assert.Equal(eventId, (int)action.AuditEvent);
    }

    [Fact]
    public void Every_method_leaves_the_audit_event_it_declares()
    {
        using var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var audit = new AuditLog(loggers, new BrokerMetrics(services.GetRequiredService<IMeterFactory>()));

        foreach (var action in CallerAction.All)
        {
            var before = logs.Entries.Count;
            audit.Succeeded(action.AuditEvent, "svc", action.Name, "test", "f1", "cache");

            var written = logs.Entries.Skip(before).ToList();
            Assert.Contains(written, e => e.StartsWith($"Broker.Audit [Information] #{(int)action.AuditEvent} ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_method_without_the_option_has_no_action()
    {
        // The interceptor refuses such a method (unknown_method): the health service's methods carry no option.
        Assert.All(Grpc.Health.V1.Health.Descriptor.Methods, m => Assert.Null(CallerAction.Of(m)));
        Assert.Null(CallerAction.Find("NoSuchMethod"));
        // Events of refusals and failures are not what a successful call may declare.
        Assert.False(AuditLog.IsCallEvent(AuditEvent.Unspecified));
        Assert.False(AuditLog.IsCallEvent(AuditEvent.Denied));
    }
}
