using System.Diagnostics;
using System.Net;
using System.Text;
using Broker.Abstractions.Identity;
using Broker.Testing;
using Broker.Testing.DpopServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using OpenTelemetry.Trace;

namespace Broker.Silo.Tests.Dpop;

/// <summary>
/// The broker's DPoP keys (a family's and a client token's), at the most verbose log level through the code flow,
/// refreshes, client credentials, proofs and refused calls, appear in no log line, span, metric, API answer or error.
/// </summary>
public sealed class DpopKeyLeakTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ExportedSpans _spans = [];
    private readonly MeterCapture _meters = MeterCapture.All();
    private readonly List<string> _answers = [];
    private DpopAuthorizationServer _server = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await DpopAuthorizationServer.StartAsync(requireNonce: true);
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            LoggerProvider = _logs,
            Customize = host => host.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans)),
            Settings = ProviderSettings.Merge(DpopBrokerTests.SettingsFor(_server), new()
            {
                ["Broker:Telemetry:Traces"] = "true", // spans are recorded only for an exporter; this one is added in code
                ["Logging:LogLevel:Default"] = "Trace",
                ["Logging:LogLevel:Orleans"] = "Trace",
                ["Logging:LogLevel:Microsoft"] = "Trace",
                ["Logging:LogLevel:System"] = "Trace",
                ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
            }),
        });
    }

    public async Task DisposeAsync()
    {
        _meters.Dispose();
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task No_DPoP_private_key_reaches_logs_spans_metrics_answers_or_errors()
    {
        var begun = await _silo.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = "dpop", Subject = "dave", Scopes = { "openid", "api" } });
        _answers.Add(begun.ToString());
        using (var page = await AuthorizationFlow.DeliverAsync(_silo, await _server.LogInAsync(new Uri(begun.AuthorizationUrl), "dave")))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            _answers.Add(await page.Content.ReadAsStringAsync());
        }
        _answers.Add((await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "dpop", Subject = "dave" })).ToString());
        for (var i = 0; i < 2; i++)
            _answers.Add((await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "dpop", Subject = "dave", ForceRefresh = true })).ToString());
        _answers.Add((await _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "dpop", Scopes = { "api" } })).ToString());
        _answers.Add((await _silo.Client.CreateProofAsync(new CreateProofRequest { Provider = "dpop", Subject = "dave", HttpMethod = "GET", Url = "https://api.example/a" })).ToString());
        _answers.Add((await _silo.Client.CreateProofAsync(new CreateProofRequest
        {
            Provider = "dpop", ClientToken = new ClientTokenSelector { Scopes = { "api" } }, HttpMethod = "PUT", Url = "https://api.example/b",
        })).ToString());
        _answers.Add((await _silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "dpop", Subject = "dave" })).ToString());
        await Refused(() => _silo.Client.CreateProofAsync(new CreateProofRequest { Provider = "dpop", Subject = "dave", HttpMethod = "GET", Url = "not a url" }).ResponseAsync);
        await Refused(() => _silo.Client.CreateProofAsync(new CreateProofRequest { Provider = "dpop", Subject = "nobody", HttpMethod = "GET", Url = "https://api.example/" }).ResponseAsync);

        var keys = new[]
        {
            await DpopKeyMaterial.OfFamilyAsync(_silo, new FamilyKey(ProviderName.Parse("dpop"), Subject.Parse("dave"))),
            await DpopKeyMaterial.OfClientTokenAsync(_silo, new ClientTokenKey(ProviderName.Parse("dpop"), DpopAuthorizationServer.ClientId, ScopeSet.Parse(["api"]), "")),
        };
        _meters.RecordObservable();
        var prometheus = await _silo.Http.GetStringAsync("/metrics");
        var channels = new Dictionary<string, List<string>>
        {
            ["logs"] = [.. _logs.Entries],
            ["spans"] = _spans.Snapshot().SelectMany(SpanTexts).ToList(),
            ["metrics"] = [.. _meters.Measurements.SelectMany(m => m.Tags.Select(t => $"{m.Meter} {m.Instrument} {t.Key}={t.Value}")), prometheus],
            ["answers"] = _answers,
        };
        Assert.Contains(_logs.Entries, e => e.Contains("[Trace]") || e.Contains("[Debug]"));
        Assert.Contains(_logs.Entries, e => e.Contains("DPoP proof", StringComparison.Ordinal)); // the audit of CreateProof was captured
        Assert.Contains(_spans.Snapshot(), s => s.DisplayName.Contains("CreateProof", StringComparison.Ordinal));

        var leaks = (from key in keys
                     from text in key.Texts
                     from channel in channels
                     let count = channel.Value.Count(t => t.Contains(text, StringComparison.OrdinalIgnoreCase))
                     where count > 0
                     select $"{key} in {count} {channel.Key}").Distinct().ToList();
        Assert.True(leaks.Count == 0, "leaked: " + string.Join("; ", leaks));
    }

    private static IEnumerable<string> SpanTexts(Activity span) =>
    [
        span.DisplayName, span.OperationName, span.StatusDescription ?? "",
        .. span.TagObjects.Select(t => $"{t.Key}={t.Value}"),
        .. span.Events.SelectMany(e => e.Tags.Select(t => $"{t.Key}={t.Value}").Append(e.Name)),
    ];

    private async Task Refused(Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        _answers.Add(ex.Message);
        foreach (var trailer in ex.Trailers)
            _answers.Add($"{trailer.Key}={(trailer.IsBinary ? Encoding.UTF8.GetString(trailer.ValueBytes) : trailer.Value)}");
    }
}
