using System.CommandLine;
using System.Diagnostics;
using Broker.Abstractions;
using Broker.Abstractions.Grains;
using Broker.OAuth;
using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;
using Broker.Ops.Cluster;
using Broker.Ops.Output;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Ops.Commands;

/// <summary>
/// <c>providers check</c>: for each configured provider, its discovery document (RFC 8414), whether its token
/// endpoint answers, the clock skew from the answer's Date header, and its circuit breakers on every active silo
/// (when the cluster's settings are given). Sends no credential.
/// </summary>
public static class ProviderCommands
{
    public static Command Create(OpsContext ops)
    {
        var providers = new Command("providers", "Configured authorization servers.");
        var check = new Command("check", "Discovery, token endpoint reachability, clock skew and circuit breakers of every provider.");
        check.SetAction((result, cancellationToken) => OpsContext.GuardAsync(async () =>
        {
            var services = new ServiceCollection().AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
            services.AddBrokerOAuth(ops.Configuration);
            await using var provider = services.BuildServiceProvider();
            var registry = provider.GetRequiredService<ProviderRegistry>();
            var metadata = provider.GetRequiredService<MetadataStore>();
            var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient();
            var breakers = await CircuitBreakers.ReadAsync(ops);
            var rows = new List<IReadOnlyList<object?>>();
            var failures = 0;
            foreach (var p in registry.All.OrderBy(p => p.Name.Value, StringComparer.Ordinal))
            {
                string discovery, token = "-", skew = "-";
                try
                {
                    var started = Stopwatch.GetTimestamp();
                    var document = await metadata.GetAsync(p, cancellationToken);
                    discovery = $"ok ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms)";
                    // An unauthenticated, grantless request: any OAuth answer (400/401) proves the endpoint is there.
                    using var request = new HttpRequestMessage(HttpMethod.Post, document.TokenEndpoint)
                    {
                        Content = new FormUrlEncodedContent([]),
                    };
                    var sent = DateTimeOffset.UtcNow;
                    using var response = await http.SendAsync(request, cancellationToken);
                    token = (int)response.StatusCode is 400 or 401 ? $"reachable ({(int)response.StatusCode})" : $"unexpected {(int)response.StatusCode}";
                    if (response.Headers.Date is { } date) skew = $"{(date - sent).TotalSeconds:+0;-0;0} s";
                    if (!token.StartsWith("reachable", StringComparison.Ordinal)) failures++;
                }
                catch (BrokerException ex) when (ex.Reason == BrokerErrorReason.ProviderRejected && token == "-")
                {
                    // A configuration error (the metadata names another issuer): say which values differ.
                    discovery = $"configuration error: {ex.Message}";
                    token = "not tried";
                    failures++;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    discovery = token == "-" ? $"failed ({ex.GetType().Name})" : "ok";
                    if (token == "-") token = "not tried";
                    failures++;
                }
                rows.Add([p.Name.Value, p.Options.Issuer ?? "", discovery, token, skew, breakers.Of(p.Name.Value)]);
            }
            Report.Write(Console.Out, result.GetValue(ops.Json), ["provider", "issuer", "discovery", "token_endpoint", "clock_skew", "circuit_breakers"], rows);
            return failures == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        providers.Subcommands.Add(check);
        return providers;
    }

    /// <summary>
    /// The breakers live in each silo's memory: each active silo is asked through a grain placed on it. Without the
    /// cluster's settings, or when it cannot be reached, the column says so instead of failing the check.
    /// </summary>
    private sealed class CircuitBreakers
    {
        private readonly Dictionary<string, List<string>> _notClosed = new(StringComparer.Ordinal);
        private string? _unknown;

        public string Of(string provider) =>
            _unknown ?? (_notClosed.TryGetValue(provider, out var open) ? string.Join("; ", open) : "closed");

        public static async Task<CircuitBreakers> ReadAsync(OpsContext ops)
        {
            var breakers = new CircuitBreakers();
            OpsSettings settings;
            try
            {
                settings = OpsSettings.From(ops.Configuration);
            }
            catch (OpsException)
            {
                breakers._unknown = "unknown (no cluster settings)";
                return breakers;
            }
            try
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await using var connection = await ClusterConnection.OpenAsync(settings, deadline.Token);
                var silos = await connection.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
                foreach (var silo in silos.Keys.OrderBy(s => s.ToParsableString(), StringComparer.Ordinal))
                {
                    var readings = await connection.Grains.GetGrain<ICircuitBreakerReportGrain>(silo.ToParsableString()).Read()
                        .WaitAsync(TimeSpan.FromSeconds(10));
                    foreach (var reading in readings.Where(r => r.State != "closed"))
                    {
                        if (!breakers._notClosed.TryGetValue(reading.Provider, out var list)) breakers._notClosed[reading.Provider] = list = [];
                        list.Add($"{reading.State} on {silo.Endpoint} ({reading.Client})");
                    }
                }
            }
            catch (Exception ex) // unreachable, timed out, a silo gone: the check itself goes on
            {
                breakers._unknown = $"unknown ({ex.GetType().Name})";
            }
            return breakers;
        }
    }
}
