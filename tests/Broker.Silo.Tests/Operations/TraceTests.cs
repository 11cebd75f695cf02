using System.Diagnostics;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using OpenTelemetry.Trace;
using Xunit;

namespace Broker.Silo.Tests.Operations;

/// <summary>
/// One trace from the caller's gRPC call through the grain call to the authorization server's token endpoint:
/// the silo and the test authorization server run in this process, and the spans checked are those the
/// silo's OpenTelemetry pipeline exports (an in-memory exporter beside the configured ones).
/// </summary>
public sealed class TraceTests : IAsyncLifetime
{
    private static readonly ActivitySource Caller = new("Broker.Tests.Caller");
    private readonly ExportedSpans _exported = [];
    private TestAuthorizationServer _server = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            // Spans are recorded only for an exporter; this one is added in code.
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", _server), new() { ["Broker:Telemetry:Traces"] = "true" }),
            Customize = host => host.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(Caller.Name).AddInMemoryExporter(_exported)),
        });
        await _server.AddRedirectUriAsync("broker", _silo.RedirectUri("test"));
    }

    [Fact]
    public async Task A_refresh_is_one_trace_from_the_grpc_call_to_the_authorization_server()
    {
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "trace-user", "api.read");

        AccessToken token;
        ActivityTraceId traceId;
        using (var root = Caller.StartActivity("caller wants a token", ActivityKind.Client)!)
        {
            traceId = root.TraceId;
            token = await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "trace-user", ForceRefresh = true });
        }
        // Server spans stop (and are exported) only after the response is written: wait, bounded, until the gRPC
        // server span and the authorization server's token span of this trace are both exported.
        await Eventually.WaitUntilAsync(() => Complete(Spans(traceId)), "the gRPC server span and the token endpoint's server span", TimeSpan.FromSeconds(10));
        var trace = Spans(traceId);

        var grpcServer = Assert.Single(trace, s => s.Kind == ActivityKind.Server && s.DisplayName.Contains("TokenBroker/GetAccessToken", StringComparison.Ordinal));
        Assert.Equal("test", grpcServer.GetTagItem("broker.provider"));
        Assert.Equal("refresh", grpcServer.GetTagItem("broker.token.source"));
        Assert.Equal("ok", grpcServer.GetTagItem("broker.outcome"));
        Assert.Contains(trace, s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && s.DisplayName.Contains("GetAccessToken", StringComparison.Ordinal));
        var refresh = Assert.Single(trace, s => s.Source.Name == "Broker" && s.DisplayName == "broker.family.refresh");
        Assert.Equal("issued", trace.Select(s => s.GetTagItem("broker.refresh.outcome")).OfType<string>().Single());
        var upstream = Assert.Single(trace, s => s.Kind == ActivityKind.Client && s.Source.Name == "System.Net.Http"
            && (s.GetTagItem("url.full") as string ?? "").EndsWith("/connect/token", StringComparison.Ordinal));
        Assert.Contains(trace, s => s.Kind == ActivityKind.Server && s.ParentSpanId == upstream.SpanId); // the server's own span
        Assert.True(IsBelow(upstream, refresh, trace), "the token request is a descendant of the refresh span");

        // Nothing in the trace holds the token or the subject in clear.
        var values = trace.SelectMany(s => s.TagObjects.Select(t => t.Value?.ToString() ?? "").Append(s.DisplayName)).ToList();
        TokenAssert.NotIn(token.AccessToken_, values);
        Assert.DoesNotContain(values, v => v.Contains("trace-user", StringComparison.Ordinal));
    }

    private List<Activity> Spans(ActivityTraceId traceId) => _exported.Snapshot().Where(s => s.TraceId == traceId).ToList();

    private static bool Complete(List<Activity> trace) =>
        trace.Any(s => s.Kind == ActivityKind.Server && s.DisplayName.Contains("TokenBroker/GetAccessToken", StringComparison.Ordinal))
        && trace.Any(server => server.Kind == ActivityKind.Server && trace.Any(client => client.SpanId == server.ParentSpanId
            && client.Kind == ActivityKind.Client && (client.GetTagItem("url.full") as string ?? "").EndsWith("/connect/token", StringComparison.Ordinal)));

    private static bool IsBelow(Activity child, Activity ancestor, List<Activity> trace)
    {
        var bySpan = trace.ToDictionary(s => s.SpanId);
        for (var current = child; bySpan.TryGetValue(current.ParentSpanId, out var parent); current = parent)
        {
            if (parent.SpanId == ancestor.SpanId) return true;
        }
        return false;
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }
}
