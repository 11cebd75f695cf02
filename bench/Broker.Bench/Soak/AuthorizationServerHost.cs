using System.Text.Json;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;

namespace Broker.Bench.Soak;

/// <summary>
/// <c>Broker.Bench serve-auth</c>: the soak's authorization server and its fault proxy in a process of their own, so
/// that the load generator's starvation is never mistaken for the provider's (docs/reliability.md). Controlled over
/// stdin/stdout, one line each way: <c>stats</c> (a JSON line), <c>redirect URI</c>, <c>down</c> (the proxy stops
/// listening: connections refused), <c>up</c> (it listens again on the same port). Ends when stdin closes.
/// </summary>
public static class AuthorizationServerHost
{
    public static async Task<int> RunAsync(TimeSpan accessTokenLifetime, TimeSpan refreshTokenLifetime, TimeSpan reuseLeeway)
    {
        await using var server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions
        {
            AccessTokenLifetime = accessTokenLifetime,
            RefreshTokenLifetime = refreshTokenLifetime,
            // Past the leeway (or at once without one) a reused refresh token revokes the whole grant.
            RefreshTokenReuseLeeway = reuseLeeway > TimeSpan.Zero ? reuseLeeway : null,
        });
        var proxy = await FaultInjectingProxy.StartAsync(server.Issuer);
        var port = proxy.Address.Port;
        var proxyUp = true;
        var output = Console.Out;
        await output.WriteLineAsync($"ready {server.Issuer.AbsoluteUri} {proxy.Address.AbsoluteUri}");
        await output.FlushAsync();
        try
        {
            while (await Console.In.ReadLineAsync() is { } line)
            {
                var (command, argument) = line.IndexOf(' ') is var space and > 0 ? (line[..space], line[(space + 1)..]) : (line, "");
                switch (command)
                {
                    case "stats":
                        await output.WriteLineAsync(JsonSerializer.Serialize(AuthorizationServerFigures.Of(server.Stats)));
                        break;
                    case "redirect":
                        await server.AddRedirectUriAsync("broker", new Uri(argument));
                        await output.WriteLineAsync("ok");
                        break;
                    case "down" when proxyUp:
                        await proxy.DisposeAsync();
                        proxyUp = false;
                        await output.WriteLineAsync("ok");
                        break;
                    case "up" when !proxyUp:
                        proxy = await FaultInjectingProxy.StartAsync(server.Issuer, port);
                        proxyUp = true;
                        await output.WriteLineAsync("ok");
                        break;
                    default:
                        await output.WriteLineAsync($"error unknown or untimely command '{command}'");
                        break;
                }
                await output.FlushAsync();
            }
        }
        finally
        {
            if (proxyUp) await proxy.DisposeAsync();
        }
        return 0;
    }
}

/// <summary>What the soak reads of the authorization server's counters, as it crosses the process boundary.</summary>
public sealed record AuthorizationServerFigures(
    int TokenRequests,
    int RefreshTokenGrants,
    int RefreshTokenReuses,
    int RefreshTokenRejections,
    int MostPresentations,
    string Summary,
    string[] Errors,
    Dictionary<string, DateTimeOffset[]> RefreshGrantsBySubject)
{
    public static AuthorizationServerFigures Of(TestAuthorizationServerStats stats) => new(
        stats.TokenRequests,
        stats.RefreshTokenGrants,
        stats.RefreshTokenReuses,
        stats.RefreshTokenRejections,
        stats.MostPresentationsOfOneRefreshToken,
        stats.ToString(),
        [.. stats.Errors.GroupBy(e => $"{e.GrantType}: {e.Error}").Select(g => $"{g.Key} x{g.Count()}")],
        stats.RefreshGrantsBySubject().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
}
