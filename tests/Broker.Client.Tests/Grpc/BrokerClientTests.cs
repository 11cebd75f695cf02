using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Testing.Hosting;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Client.Tests.Grpc;

[Collection(ClientCollection.Name)]
public sealed class BrokerClientTests(ClientFixture fixture)
{
    private BrokerClient Client => fixture.Services.GetRequiredService<BrokerClient>();

    [Fact]
    public async Task Unknown_provider_is_a_typed_error()
    {
        var ex = await Assert.ThrowsAsync<BrokerClientException>(() => Client.GetAccessTokenAsync("nope", "alice"));

        Assert.Equal(StatusCode.NotFound, ex.Status);
        Assert.Equal(BrokerReasons.UnknownProvider, ex.Reason);
    }

    [Fact]
    public async Task Malformed_subject_is_a_typed_error()
    {
        var ex = await Assert.ThrowsAsync<BrokerClientException>(() => Client.GetAccessTokenAsync("test", "has space"));

        Assert.Equal(BrokerReasons.InvalidArgument, ex.Reason);
        Assert.False(ex.NeedsAuthorization);
    }

    [Fact]
    public async Task An_authorization_completed_through_the_client_library_gives_the_family_its_tokens()
    {
        var url = await Client.BeginAuthorizationAsync("test", "handshake-user", ["openid", "api.read"], TestCallers.ReturnUrl);
        var redirect = await AuthorizationFlow.LogInAsync(url);
        using var callback = await AuthorizationFlow.DeliverAsync(fixture.Silo, redirect);
        Assert.StartsWith(TestCallers.ReturnUrl.AbsoluteUri + "?completion=", callback.Headers.Location?.AbsoluteUri);

        var completed = await Client.CompleteAuthorizationAsync("test", "handshake-user", AuthorizationFlow.CompletionOf(callback)!);

        Assert.True(completed.HasRefreshToken);
        Assert.Contains("api.read", completed.Scopes);
        var token = await Client.GetAccessTokenAsync("test", "handshake-user");
        Assert.True(await fixture.Server.IsActiveAsync(token.AccessToken));
    }

    [Fact]
    public async Task Begin_authorization_returns_the_provider_url()
    {
        var url = await Client.BeginAuthorizationAsync("test", "console-user", ["api.read"]);

        Assert.StartsWith(fixture.Server.Issuer.AbsoluteUri, url.AbsoluteUri);
        Assert.Contains("code_challenge_method=S256", url.Query);
    }

    [Fact]
    public async Task Same_api_answers_json_over_http_for_other_languages()
    {
        await AuthorizationFlow.AuthorizeAsync(fixture.Silo, "test", "json-user", "api.read");
        // What curl --http2-prior-knowledge does: plain JSON on the gRPC port.
        using var http = new HttpClient
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            BaseAddress = new Uri($"http://127.0.0.1:{fixture.Silo.GrpcPort}/"),
            DefaultRequestHeaders = { Authorization = new("Bearer", TestCallers.AdminApiKey) },
        };

        using var token = await http.PostAsJsonAsync("v1/providers/test/families/json-user:token", new { minTtlSeconds = 60 });
        using var missing = await http.GetAsync("v1/providers/test/families/nobody");

        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        var body = JsonDocument.Parse(await token.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Bearer", body.GetProperty("tokenType").GetString());
        Assert.True(await fixture.Server.IsActiveAsync(body.GetProperty("accessToken").GetString()!));
        Assert.Equal(HttpStatusCode.OK, missing.StatusCode);
        Assert.Equal("none", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());

        // Errors come back as JSON too, with the same ErrorInfo reason.
        using var unknown = await http.GetAsync("v1/providers/nope/families/alice");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var error = JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("UNKNOWN_PROVIDER", error.GetProperty("details")[0].GetProperty("reason").GetString());
    }
}

/// <summary>The caller's credential rides on every call as <c>authorization: Bearer</c>.</summary>
[Collection(ClientCollection.Name)]
public sealed class BrokerClientCredentialTests(ClientFixture fixture)
{
    private sealed class CapturingHandler : DelegatingHandler
    {
        public List<string> Authorizations { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Authorizations) Authorizations.Add(request.Headers.Authorization?.ToString() ?? "");
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Api_key_or_workload_token_is_sent_as_bearer(bool workload)
    {
        var capture = new CapturingHandler();
        var services = new ServiceCollection();
        services.ConfigureHttpClientDefaults(b => b.AddHttpMessageHandler(() => capture));
        services.AddBrokerClient(o =>
        {
            o.Address = new Uri($"http://127.0.0.1:{fixture.Silo.GrpcPort}");
            if (workload) o.WorkloadToken = (_, _) => Task.FromResult("workload-jwt");
            else o.ApiKey = "api-key-1";
        });
        await using var provider = services.BuildServiceProvider();

        await Assert.ThrowsAsync<BrokerClientException>(() => provider.GetRequiredService<BrokerClient>().GetAccessTokenAsync("test", "nobody"));

        Assert.Equal(workload ? "Bearer workload-jwt" : "Bearer api-key-1", Assert.Single(capture.Authorizations));
    }
}
