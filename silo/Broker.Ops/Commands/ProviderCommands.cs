using System.CommandLine;
using System.Diagnostics;
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
/// endpoint answers, and the clock skew from the answer's Date header. Sends no credential.
/// </summary>
public static class ProviderCommands
{
    public static Command Create(OpsContext ops)
    {
        var providers = new Command("providers", "Configured authorization servers.");
        var check = new Command("check", "Discovery, token endpoint reachability and clock skew of every provider.");
        check.SetAction((result, cancellationToken) => OpsContext.GuardAsync(async () =>
        {
            var services = new ServiceCollection().AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
            services.AddBrokerOAuth(ops.Configuration);
            await using var provider = services.BuildServiceProvider();
            var registry = provider.GetRequiredService<ProviderRegistry>();
            var metadata = provider.GetRequiredService<MetadataStore>();
            var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient();
            var rows = new List<IReadOnlyList<string>>();
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
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    discovery = token == "-" ? $"failed ({ex.GetType().Name})" : "ok";
                    if (token == "-") token = "not tried";
                    failures++;
                }
                rows.Add([p.Name.Value, p.Options.Issuer?.ToString() ?? "", discovery, token, skew]);
            }
            Report.Write(Console.Out, result.GetValue(ops.Json), ["provider", "issuer", "discovery", "token_endpoint", "clock_skew"], rows);
            return failures == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        providers.Subcommands.Add(check);
        return providers;
    }
}
