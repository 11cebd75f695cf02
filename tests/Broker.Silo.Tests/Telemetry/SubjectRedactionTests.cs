using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using OpenTelemetry.Trace;
using Xunit;

namespace Broker.Silo.Tests.Telemetry;

/// <summary>
/// The JSON transcoding routes carry the subject in the URL path (<c>/v1/providers/{provider}/families/{subject}</c>),
/// which ASP.NET Core's instrumentation puts in <c>url.path</c>. No exported span or metric may carry it.
/// </summary>
public sealed class SubjectRedactionTests : IAsyncLifetime
{
    private const string Subject = "alice.subject-7@corp.example";
    private readonly ExportedSpans _exported = [];
    private TestAuthorizationServer _server = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions());
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            // Spans are recorded only for an exporter; this one is added in code.
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", _server), new() { ["Broker:Telemetry:Traces"] = "true" }),
            Customize = host => host.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_exported)),
        });
    }

    [Fact]
    public async Task Json_transcoding_calls_leave_no_subject_in_exported_spans_or_metrics()
    {
        using var metrics = MeterCapture.All();
        using var h2c = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        h2c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestCallers.AdminApiKey);
        var escaped = Uri.EscapeDataString(Subject);
        var families = $"http://127.0.0.1:{_silo.GrpcPort}/v1/providers/test/families/{escaped}";

        using var described = await h2c.GetAsync(families);
        using var token = await h2c.PostAsync($"{families}:token", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        using var revoked = await h2c.PostAsync($"{families}:revoke", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, described.StatusCode); // the route was served, so its spans carry the route
        Assert.NotEqual(HttpStatusCode.NotFound, token.StatusCode);

        // Server spans end (and are exported) after the answer is written: wait, bounded, for all three.
        await Eventually.WaitUntilAsync(() => ServerSpans().Count >= 3, "the three server spans of the JSON calls", TimeSpan.FromSeconds(10));
        var spans = ServerSpans();
        Assert.All(spans, s => Assert.Equal("/v1/providers/{provider}/families/{subject}", Trimmed(s.GetTagItem("url.path") as string)));
        // The silo and this test share a process: the test's own HTTP client spans (the caller's side) are not the silo's.
        var values = _exported.Snapshot()
            .Where(s => !(s.Kind == ActivityKind.Client && (s.GetTagItem("url.full") as string ?? "").StartsWith($"http://127.0.0.1:{_silo.GrpcPort}/", StringComparison.Ordinal)))
            .SelectMany(s => s.TagObjects.Select(t => t.Value?.ToString() ?? "").Append(s.DisplayName)).ToList();
        Assert.DoesNotContain(values, v => v.Contains(Subject, StringComparison.Ordinal) || v.Contains(escaped, StringComparison.Ordinal) || v.Contains("alice", StringComparison.Ordinal));

        var tags = metrics.Measurements.SelectMany(m => m.Tags.Select(t => t.Value?.ToString() ?? "")).ToList();
        Assert.Contains(metrics.Measurements, m => m.Instrument == "http.server.request.duration"); // the HTTP metrics were seen
        Assert.DoesNotContain(tags, v => v.Contains("alice", StringComparison.Ordinal));
    }

    // The route of ':token' and ':revoke' ends in a verb; the part before it is what must be the template.
    private static string? Trimmed(string? path) => path?.Split(':')[0];

    private List<Activity> ServerSpans() => _exported.Snapshot()
        .Where(s => s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore"
            && (s.GetTagItem("url.path") as string ?? "").StartsWith("/v1/", StringComparison.Ordinal))
        .ToList();

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }
}
