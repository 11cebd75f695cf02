using System.Net;
using System.Net.Http.Json;
using Broker.Testing.Hosting;
using Xunit;

namespace Broker.Silo.Tests.Security;

/// <summary>
/// The API answers on the gRPC listener only and the browser endpoints on the HTTP listener only, whatever Host
/// header the caller writes: the token API must never be reachable (or send credentials) on the public HTTP port.
/// </summary>
public sealed class ListenerSeparationTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    [Fact]
    public async Task The_token_api_is_not_served_on_the_http_port_even_with_a_forged_host()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "listener-user", "api.read");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{broker.Silo.HttpPort}/") };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/providers/test/families/listener-user:token")
        {
            Content = JsonContent.Create(new { minTtlSeconds = 60 }),
        };
        request.Headers.Host = $"127.0.0.1:{broker.Silo.GrpcPort}";
        request.Headers.Authorization = new("Bearer", TestCallers.AdminApiKey);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("accessToken", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Browser_endpoints_are_not_served_on_the_grpc_port_even_with_a_forged_host()
    {
        using var h2c = new HttpClient
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var plain = await h2c.GetAsync($"http://127.0.0.1:{broker.Silo.GrpcPort}/health/live");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{broker.Silo.GrpcPort}/health/live");
        request.Headers.Host = $"127.0.0.1:{broker.Silo.HttpPort}";
        using var forged = await h2c.SendAsync(request);
        using var honest = await broker.Silo.Http.GetAsync("health/live");

        Assert.Equal(HttpStatusCode.NotFound, plain.StatusCode);
        Assert.False(forged.IsSuccessStatusCode, $"forged Host answered {(int)forged.StatusCode}");
        Assert.Equal(HttpStatusCode.OK, honest.StatusCode);
    }
}
