using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.OAuth.Authorization;
using Broker.OAuth.Discovery;

namespace Broker.OAuth.Tests.Authorization;

public sealed class AuthorizationResponseValidatorTests
{
    private static AuthorizationServerMetadata Metadata(bool issParameter) => new(
        "https://as.example/", new Uri("https://as.example/authorize"), new Uri("https://as.example/token"), null, ["S256"], issParameter);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Wrong_iss_is_rejected_whether_or_not_the_server_advertises_it(bool advertised)
    {
        var ex = Assert.Throws<BrokerException>(() => AuthorizationResponseValidator.Validate(
            new AuthorizationResponse("code", "https://evil.example/", null, null), Metadata(advertised)));
        Assert.Equal(BrokerErrorReason.InvalidAuthorizationResponse, ex.Reason);
    }

    [Fact]
    public void Missing_iss_is_rejected_when_the_server_advertises_it()
    {
        var ex = Assert.Throws<BrokerException>(() => AuthorizationResponseValidator.Validate(
            new AuthorizationResponse("code", null, null, null), Metadata(issParameter: true)));
        Assert.Equal(BrokerErrorReason.InvalidAuthorizationResponse, ex.Reason);
    }

    [Fact]
    public void Missing_iss_is_accepted_when_the_server_does_not_advertise_it()
    {
        AuthorizationResponseValidator.Validate(new AuthorizationResponse("code", null, null, null), Metadata(issParameter: false));
    }

    [Fact]
    public void Iss_must_match_exactly_not_after_normalisation()
    {
        // RFC 9207 §2.4: simple string comparison.
        Assert.Throws<BrokerException>(() => AuthorizationResponseValidator.Validate(
            new AuthorizationResponse("code", "https://as.example", null, null), Metadata(issParameter: true)));
    }

    [Fact]
    public void Error_response_becomes_authorization_denied_with_a_sanitized_detail()
    {
        var ex = Assert.Throws<BrokerException>(() => AuthorizationResponseValidator.Validate(
            new AuthorizationResponse(null, "https://as.example/", "access_denied\"<script>", null), Metadata(issParameter: true)));
        Assert.Equal(BrokerErrorReason.AuthorizationDenied, ex.Reason);
        Assert.DoesNotContain("\"", ex.Detail);
    }

    [Fact]
    public void Response_without_code_or_error_is_rejected()
    {
        var ex = Assert.Throws<BrokerException>(() => AuthorizationResponseValidator.Validate(
            new AuthorizationResponse(null, "https://as.example/", null, null), Metadata(issParameter: true)));
        Assert.Equal(BrokerErrorReason.InvalidAuthorizationResponse, ex.Reason);
    }
}
