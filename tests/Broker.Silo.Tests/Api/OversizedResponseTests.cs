using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Faults;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Xunit;

namespace Broker.Silo.Tests.Api;

/// <summary>
/// Answers from a provider's token, revocation and discovery endpoints are read up to a limit (64 KiB by default,
/// <c>MaxResponseBytes</c>): a larger one is refused unread, with an error that says so, instead of being buffered
/// whole. The faults come from <see cref="FaultInjectingProxy"/> in front of the real test server: provider "test" sends
/// its token and revocation requests through it, provider "meta" (on a silo of its own) reads its metadata through it.
/// </summary>
public sealed class OversizedResponseTests : IAsyncLifetime
{
    private TestAuthorizationServer _server = null!;
    private FaultInjectingProxy _proxy = null!;
    private BrokerSilo _silo = null!;
    private readonly CapturingLoggerProvider _logs = new();

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions());
        _proxy = await FaultInjectingProxy.StartAsync(_server.Issuer);
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(
                ProviderSettings.For("test", _server),
                new()
                {
                    ["Broker:Providers:test:TokenEndpoint"] = _proxy.Endpoint(TestAuthorizationServer.TokenPath).AbsoluteUri,
                    ["Broker:Providers:test:RevocationEndpoint"] = _proxy.Endpoint(TestAuthorizationServer.RevocationPath).AbsoluteUri,
                    ["Logging:LogLevel:Broker"] = "Information",
                }),
            LoggerProvider = _logs,
        });
    }

    private Task<AccessToken> ClientToken(string provider) =>
        _silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = provider, Scopes = { "api" } }).ResponseAsync;

    [Fact]
    public async Task A_token_response_over_the_limit_is_refused_unread_and_one_within_it_is_taken()
    {
        _proxy.Inject(new Fault.Oversize(70_000), "client_credentials");

        var refused = await Assert.ThrowsAsync<RpcException>(() => ClientToken("test"));

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("MaxResponseBytes", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, _proxy.Faulted);

        _proxy.Inject(new Fault.Oversize(40_000), "client_credentials");
        var token = await ClientToken("test");
        Assert.NotEmpty(token.AccessToken_);
        Assert.Equal(2, _proxy.Faulted); // the padded answer within the limit was the one taken
    }

    [Fact]
    public async Task A_metadata_document_over_the_limit_is_refused_naming_the_setting()
    {
        // A silo of its own, started with the fault in place: a silo reads every provider's metadata as it starts.
        _proxy.Inject(new Fault.Oversize(70_000), grantType: null, times: 1_000);
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.For("meta", _server, metadataAddress: _proxy.Endpoint(".well-known/openid-configuration").AbsoluteUri),
        });
        Task<AccessToken> MetaToken() => silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "meta", Scopes = { "api" } }).ResponseAsync;

        var refused = await Assert.ThrowsAsync<RpcException>(MetaToken);

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("Broker:Providers:meta:MaxResponseBytes", refused.Status.Detail, StringComparison.Ordinal);
        _proxy.Clear();
        Assert.NotEmpty((await MetaToken()).AccessToken_);
    }

    [Fact]
    public async Task A_revocation_answer_over_the_limit_is_not_taken_for_a_confirmation()
    {
        async Task<string> RevokeAsync(string subject, Fault? fault)
        {
            await _silo.Client.ImportTokensAsync(new ImportTokensRequest { Provider = "test", Subject = subject, AccessToken = "at", RefreshToken = $"rt-{subject}" });
            if (fault is not null) _proxy.Inject(fault, grantType: null);
            using var log = _logs.Window();
            await _silo.Client.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = subject });
            return Assert.Single(log.Entries, e => e.Contains("#2007 ", StringComparison.Ordinal));
        }

        Assert.Contains("confirmed: True", await RevokeAsync("revoked-plainly", fault: null), StringComparison.Ordinal);
        Assert.Contains("confirmed: False", await RevokeAsync("revoked-oversized", new Fault.Oversize(70_000)), StringComparison.Ordinal);
        Assert.Equal(1, _proxy.Faulted);
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
    }
}
