using Broker.Abstractions.Identity;
using Broker.OAuth.Discovery;
using Broker.OAuth.Providers;
using Broker.OAuth.Tokens;
using Broker.Testing.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.OAuth.Tests.Tokens;

/// <summary>
/// A token endpoint that answers 200 with a body a test sets, hand-written to inject malformed answers (a real server
/// does not send them on demand): the granted <c>scope</c> decides what a caller may be handed, so it is never guessed.
/// </summary>
public sealed class TokenResponseScopeTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _address = null!;
    private string _body = "";

    public async Task InitializeAsync() =>
        (_app, _address) = await LoopbackWebApp.StartAsync(app => app.MapPost("/token", () => Results.Text(_body, "application/json")));

    [Theory]
    [InlineData("\"api.read \\\"quoted\\\"\"")] // '"' is outside RFC 6749's scope-token characters
    [InlineData("\"api.read \\u0001\"")]
    [InlineData("42")]
    [InlineData("[\"api.read\"]")]
    public async Task A_scope_that_cannot_be_parsed_is_an_error_not_the_requested_scopes(string scope)
    {
        _body = $$"""{"access_token":"at","token_type":"Bearer","expires_in":300,"scope":{{scope}}}""";
        var (tokens, provider, metadata) = await ClientAsync();

        var outcome = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api.read"]), "");

        Assert.Contains("scope", Assert.IsType<TokenEndpointOutcome.OutcomeUnknown>(outcome).Why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_omitted_scope_is_the_requested_one_and_a_granted_one_is_taken_as_granted()
    {
        var (tokens, provider, metadata) = await ClientAsync();
        _body = """{"access_token":"at","token_type":"Bearer","expires_in":300}""";
        var omitted = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api.read"]), "");
        Assert.Equal(["api.read"], Assert.IsType<TokenEndpointOutcome.Issued>(omitted).Tokens.Scopes.Values.ToArray());

        _body = """{"access_token":"at","token_type":"Bearer","expires_in":300,"scope":"api.read api.write"}""";
        var wider = await tokens.ClientCredentialsAsync(provider, metadata, ScopeSet.Parse(["api.read"]), "");
        Assert.Equal(["api.read", "api.write"], Assert.IsType<TokenEndpointOutcome.Issued>(wider).Tokens.Scopes.Values.Order(StringComparer.Ordinal).ToArray());
    }

    private async Task<(TokenEndpointClient, Provider, AuthorizationServerMetadata)> ClientAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Http:PublicBaseUrl"] = "http://127.0.0.1:9/",
            ["Broker:Providers:scripted:Issuer"] = _address.AbsoluteUri,
            ["Broker:Providers:scripted:UseDiscovery"] = "false",
            ["Broker:Providers:scripted:AuthorizationEndpoint"] = new Uri(_address, "authorize").AbsoluteUri,
            ["Broker:Providers:scripted:TokenEndpoint"] = new Uri(_address, "token").AbsoluteUri,
            ["Broker:Providers:scripted:ClientId"] = "broker",
            ["Broker:Providers:scripted:ClientSecret"] = "secret",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddMetrics().AddBrokerOAuth(configuration).BuildServiceProvider();
        var provider = services.GetRequiredService<ProviderRegistry>().Get(ProviderName.Parse("scripted"));
        var metadata = await services.GetRequiredService<MetadataStore>().GetAsync(provider);
        return (services.GetRequiredService<TokenEndpointClient>(), provider, metadata);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();
}
