using Broker.Testing;
using System.Net;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Callback;

/// <summary>Every way an authorization response can be wrong: each is refused and stores nothing.</summary>
public sealed class AuthorizationCallbackTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    private async Task AssertNothingStored(string subject, int codeGrantsBefore)
    {
        var description = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = subject });
        Assert.Equal("none", description.Status);
        Assert.Equal(codeGrantsBefore, broker.Server.Stats.AuthorizationCodeGrants);
    }

    private static async Task AssertRejected(HttpResponseMessage response, string reason)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains(reason, page);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Unknown_state_is_rejected()
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-unknown", []);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, AuthorizationFlow.WithParameter(redirect, "state", "not-a-state-we-issued"));

        await AssertRejected(response, "INVALID_STATE");
        await AssertNothingStored("cb-unknown", grants);
    }

    [Fact]
    public async Task Missing_state_is_rejected()
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-nostate", []);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, AuthorizationFlow.WithParameter(redirect, "state", null));

        await AssertRejected(response, "INVALID_STATE");
        await AssertNothingStored("cb-nostate", grants);
    }

    [Fact]
    public async Task A_state_is_used_once()
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-reuse", []);
        using var first = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);
        var grants = broker.Server.Stats.AuthorizationCodeGrants;

        using var second = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await AssertRejected(second, "INVALID_STATE");
        Assert.Equal(grants, broker.Server.Stats.AuthorizationCodeGrants);
    }

    [Fact]
    public async Task State_of_another_provider_is_rejected()
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-mixup", []);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, AuthorizationFlow.WithPath(redirect, "/oauth2/callback/other"));

        await AssertRejected(response, "INVALID_STATE");
        await AssertNothingStored("cb-mixup", grants);
        var other = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "other", Subject = "cb-mixup" });
        Assert.Equal("none", other.Status);
    }

    [Theory]
    [InlineData("https://attacker.example/")]
    [InlineData(null)]
    public async Task Wrong_or_missing_iss_is_rejected(string? iss)
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-iss", []);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, AuthorizationFlow.WithParameter(redirect, "iss", iss));

        await AssertRejected(response, "INVALID_AUTHORIZATION_RESPONSE");
        await AssertNothingStored("cb-iss", grants);
    }

    [Fact]
    public async Task Access_denied_by_the_server_is_reported_and_stores_nothing()
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-denied", [],
            new Dictionary<string, string?> { ["test_deny"] = "1" });
        Assert.Contains("error=access_denied", redirect.Query);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);

        await AssertRejected(response, "AUTHORIZATION_DENIED");
        await AssertNothingStored("cb-denied", grants);
    }

    [Fact]
    public async Task Repeated_parameter_is_rejected()
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-repeat", []);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, new Uri(redirect + "&code=second"));

        await AssertRejected(response, "INVALID_AUTHORIZATION_RESPONSE");
    }

    [Fact]
    public async Task Input_is_never_reflected_into_the_page()
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "cb-xss", []);
        var hostile = AuthorizationFlow.WithParameter(AuthorizationFlow.WithParameter(redirect, "error", "<script>alert(1)</script>"), "code", null);

        using var response = await AuthorizationFlow.DeliverAsync(broker.Silo, hostile);

        var page = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script>", page);
        Assert.DoesNotContain("alert(1)", page);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task Callback_for_unknown_provider_is_not_found()
    {
        using var response = await broker.Silo.Http.GetAsync("/oauth2/callback/nope?code=x&state=y");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

/// <summary>A provider whose metadata does not advertise PKCE: the broker refuses to start an authorization.</summary>
public sealed class ProviderWithoutPkceTests : IAsyncLifetime
{
    private readonly EmbeddedBroker _broker = new();
    private MetadataRewritingProxy _proxy = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        await _broker.InitializeAsync();
        _proxy = await MetadataRewritingProxy.StartAsync(_broker.Server.Issuer, "code_challenge_methods_supported");
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.For("nopkce", _broker.Server, metadataAddress: _proxy.Address.AbsoluteUri),
        });
    }

    [Fact]
    public async Task Begin_authorization_is_refused_when_the_server_does_not_advertise_S256()
    {
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "PROVIDER_REJECTED",
            () => _silo.Client.BeginAuthorizationAsync(new BeginAuthorizationRequest { Provider = "nopkce", Subject = "alice" }).ResponseAsync);
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _proxy.DisposeAsync();
        await _broker.DisposeAsync();
    }
}
