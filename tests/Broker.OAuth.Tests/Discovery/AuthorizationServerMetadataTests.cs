using System.Text.Json;
using Broker.OAuth.Discovery;

namespace Broker.OAuth.Tests.Discovery;

public sealed class AuthorizationServerMetadataTests
{
    [Fact]
    public void Reads_the_fields_the_broker_uses()
    {
        var document = JsonDocument.Parse("""
            {"issuer":"https://as.example/","authorization_endpoint":"https://as.example/a","token_endpoint":"https://as.example/t",
             "revocation_endpoint":"https://as.example/r","code_challenge_methods_supported":["S256"],
             "authorization_response_iss_parameter_supported":true}
            """).RootElement;

        var metadata = AuthorizationServerMetadata.Parse(document, out var error);

        Assert.Null(error);
        Assert.Equal("https://as.example/", metadata!.Issuer);
        Assert.Equal(new Uri("https://as.example/t"), metadata.TokenEndpoint);
        Assert.Equal(new Uri("https://as.example/r"), metadata.RevocationEndpoint);
        Assert.Equal(["S256"], metadata.CodeChallengeMethods);
        Assert.True(metadata.AuthorizationResponseIssParameterSupported);
    }

    [Theory]
    [InlineData("""{"authorization_endpoint":"https://as.example/a","token_endpoint":"https://as.example/t"}""")]
    [InlineData("""{"issuer":"https://as.example/","token_endpoint":"https://as.example/t"}""")]
    [InlineData("""{"issuer":"https://as.example/","authorization_endpoint":"not a url","token_endpoint":"https://as.example/t"}""")]
    [InlineData("""[]""")]
    public void Incomplete_document_is_refused_with_a_reason(string json)
    {
        var metadata = AuthorizationServerMetadata.Parse(JsonDocument.Parse(json).RootElement, out var error);

        Assert.Null(metadata);
        Assert.NotNull(error);
    }

    [Fact]
    public void Absent_flags_default_to_unsupported()
    {
        var metadata = AuthorizationServerMetadata.Parse(JsonDocument.Parse(
            """{"issuer":"https://as.example/","authorization_endpoint":"https://as.example/a","token_endpoint":"https://as.example/t"}""").RootElement, out _);

        Assert.Empty(metadata!.CodeChallengeMethods);
        Assert.False(metadata.AuthorizationResponseIssParameterSupported);
        Assert.Null(metadata.RevocationEndpoint);
    }

    [Fact]
    public void Mtls_endpoint_aliases_are_used_by_tls_clients_only()
    {
        var metadata = AuthorizationServerMetadata.Parse(JsonDocument.Parse("""
            {"issuer":"https://as.example/","authorization_endpoint":"https://as.example/authorize",
             "token_endpoint":"https://as.example/token","revocation_endpoint":"https://as.example/revoke",
             "mtls_endpoint_aliases":{"token_endpoint":"https://mtls.as.example/token","revocation_endpoint":"https://mtls.as.example/revoke"}}
            """).RootElement, out _)!;

        Assert.Equal("https://mtls.as.example/token", metadata.TokenEndpointFor(mutualTls: true).AbsoluteUri);
        Assert.Equal("https://mtls.as.example/revoke", metadata.RevocationEndpointFor(mutualTls: true)!.AbsoluteUri);
        Assert.Equal("https://as.example/token", metadata.TokenEndpointFor(mutualTls: false).AbsoluteUri);
        Assert.Equal("https://as.example/revoke", metadata.RevocationEndpointFor(mutualTls: false)!.AbsoluteUri);
    }
}
