using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Broker.Grains.Telemetry;
using Broker.Silo.Audit;
using Broker.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Silo.Tests.Audit;

/// <summary>
/// Each event's values are given in the order of its template's names: a value given in the wrong place would put the
/// caller's name under Provider. Every argument here is distinct, so each name can be checked against its own.
/// </summary>
public sealed class AuditLogTests
{
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));

    private static readonly Dictionary<string, string> Arguments = new()
    {
        ["Caller"] = "c-billing", ["Action"] = "a-GetAccessToken", ["Provider"] = "p-github", ["Family"] = "f-0123",
        ["Source"] = "refresh", ["Outcome"] = "o-ok", ["Why"] = "w-read", ["Peer"] = "ipv4:127.0.0.1:5000",
        ["Failure"] = "x-no-credential", ["Reason"] = "r-UPSTREAM",
    };

    [Fact]
    public void Every_event_reaches_the_writer_and_the_logging_providers_with_each_value_under_its_own_name()
    {
        var output = new MemoryStream();
        var logged = new RecordingLoggerProvider();
        using (var writer = new AuditLineWriter(output, capacity: 1_000, Time))
        {
            var audit = new AuditLog(LoggerFactory.Create(b => b.AddProvider(logged)), Metrics(), Time, writer);
            LeaveEveryEvent(audit);
        }

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        // Every kind the trail declares, once each (a token handed out from a refresh leaves FamilyRefreshed too).
        var declared = typeof(AuditEventKinds).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => ((AuditEventKind)f.GetValue(null)!).EventId.Id);
        Assert.Equal(declared.Order(), lines.Select(l => l.GetProperty("EventId").GetInt32()).Order());
        Assert.Equal(lines.Count, logged.Events.Count);

        foreach (var (line, (level, eventId, message, state)) in lines.Zip(logged.Events))
        {
            var values = line.GetProperty("State").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            Assert.NotEmpty(values);
            Assert.All(values, v => Assert.Equal(Arguments[v.Key], v.Value));
            Assert.All(values, v => Assert.Contains(v.Value!, line.GetProperty("Message").GetString(), StringComparison.Ordinal));
            Assert.DoesNotContain("{", line.GetProperty("Message").GetString(), StringComparison.Ordinal);

            // The logging providers get the same event: id, level, message, and the values by name, then the template.
            Assert.Equal(line.GetProperty("EventId").GetInt32(), eventId);
            Assert.Equal(line.GetProperty("LogLevel").GetString(), level.ToString());
            Assert.Equal(line.GetProperty("Message").GetString(), message);
            Assert.Equal(values, state.SkipLast(1).ToDictionary(p => p.Key, p => (string?)p.Value));
            Assert.Equal("{OriginalFormat}", state[^1].Key);
        }
    }

    [Fact]
    public void Without_a_writer_the_logging_providers_still_get_every_event()
    {
        var logged = new RecordingLoggerProvider();
        var audit = new AuditLog(LoggerFactory.Create(b => b.AddProvider(logged)), Metrics(), Time);

        LeaveEveryEvent(audit);

        Assert.Equal(typeof(AuditEventKinds).GetFields(BindingFlags.Public | BindingFlags.Static).Length, logged.Events.Count);
    }

    private static void LeaveEveryEvent(AuditLog audit)
    {
        string A(string name) => Arguments[name];
        foreach (var audited in Enum.GetValues<AuditEvent>().Where(AuditLog.IsCallEvent))
            audit.Succeeded(audited, A("Caller"), A("Action"), A("Provider"), A("Family"), audited == AuditEvent.TokenHandedOut ? A("Source") : null);
        audit.AuthorizationCompleted(A("Provider"), A("Family"), A("Outcome"));
        audit.Denied(A("Caller"), A("Action"), A("Provider"), A("Family"), A("Why"));
        audit.Unauthenticated(A("Action"), A("Peer"), A("Failure"));
        audit.Failed(A("Caller"), A("Action"), A("Provider"), A("Family"), A("Reason"));
    }

    private static BrokerMetrics Metrics() =>
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    /// <summary>What a logging provider is given: level, id, the formatted message and the state's pairs.</summary>
    private sealed class RecordingLoggerProvider : ILoggerProvider, ILogger
    {
        public List<(LogLevel Level, int EventId, string Message, List<KeyValuePair<string, object?>> State)> Events { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Events.Add((logLevel, eventId.Id, formatter(state, exception), [.. (IEnumerable<KeyValuePair<string, object?>>)state!]));

        public void Dispose() { }
    }
}
