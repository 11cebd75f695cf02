using System.Security.Claims;
using Broker.Abstractions;
using Broker.OAuth.Authorization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Tests.Authorization;

/// <summary>
/// The ID token of a code exchange is bound to its request (OIDC Core §3.1.3.7): issuer, audience (the client)
/// and nonce must all match, or the callback refuses it as INVALID_AUTHORIZATION_RESPONSE.
/// </summary>
public sealed class IdTokenCheckTests
{
    private const string Issuer = "https://as.example/";
    private const string ClientId = "broker";
    private const string Nonce = "n-0S6_WzA2Mj";

    private static readonly SigningCredentials Signing = new(
        new SymmetricSecurityKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), SecurityAlgorithms.HmacSha256);

    private static string IdToken(string issuer = Issuer, string audience = ClientId, string? nonce = Nonce)
    {
        var claims = new Dictionary<string, object> { ["sub"] = "alice" };
        if (nonce is not null) claims["nonce"] = nonce;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            Subject = new ClaimsIdentity(),
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = Signing,
        });
    }

    /// <summary>Refused with the callback's reason, by the check named in <paramref name="because"/> (not by another one).</summary>
    private static void AssertRefused(string? idToken, string because)
    {
        var ex = Assert.Throws<BrokerException>(() => IdTokenCheck.Validate(idToken, Issuer, ClientId, Nonce));
        Assert.Equal(BrokerErrorReason.InvalidAuthorizationResponse, ex.Reason);
        Assert.Contains(because, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_id_token_of_this_issuer_for_this_client_with_the_request_nonce_is_accepted()
    {
        IdTokenCheck.Validate(IdToken(), Issuer, ClientId, Nonce);
    }

    [Fact]
    public void An_id_token_with_another_nonce_is_refused()
    {
        AssertRefused(IdToken(nonce: "n-someone-elses-request"), "nonce does not match");
    }

    [Fact]
    public void An_id_token_without_a_nonce_is_refused()
    {
        AssertRefused(IdToken(nonce: null), "nonce does not match");
    }

    [Fact]
    public void An_id_token_whose_nonce_differs_only_in_case_is_refused()
    {
        AssertRefused(IdToken(nonce: Nonce.ToUpperInvariant()), "nonce does not match");
    }

    [Theory]
    [InlineData("https://attacker.example/")]
    [InlineData("https://as.example")]          // the same server without its trailing slash is another identifier
    public void An_id_token_from_another_issuer_is_refused(string issuer)
    {
        AssertRefused(IdToken(issuer: issuer), "another issuer");
    }

    [Theory]
    [InlineData("another-client")]
    [InlineData("Broker")]
    public void An_id_token_for_another_audience_is_refused(string audience)
    {
        AssertRefused(IdToken(audience: audience), "not for this client");
    }

    [Fact]
    public void A_missing_id_token_is_refused_when_openid_was_requested()
    {
        AssertRefused(null, "none was returned");
    }

    [Fact]
    public void A_malformed_id_token_is_refused()
    {
        AssertRefused("not-a-jwt", "not a well-formed JWT");
    }
}
