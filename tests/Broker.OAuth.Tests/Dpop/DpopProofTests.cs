using System.Security.Cryptography;
using System.Text;
using Broker.OAuth.Dpop;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Tests.Dpop;

/// <summary>The proof's shape (RFC 9449 §4.2) and the key's thumbprint (RFC 7638), checked with Microsoft.IdentityModel.</summary>
public sealed class DpopProofTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_proof_is_signed_by_its_key_and_names_method_url_time_nonce_and_token_hash()
    {
        using var key = DpopKey.Generate();
        var proof = DpopProof.Create(key, "get", new Uri("https://api.example/v1/items?page=2#top"), Now, nonce: "n-1", accessToken: "token-1");

        var jwt = new JsonWebToken(proof);
        Assert.Equal("dpop+jwt", jwt.Typ);
        Assert.Equal("ES256", jwt.Alg);
        Assert.Equal("GET", jwt.GetClaim("htm").Value);
        Assert.Equal("https://api.example/v1/items", jwt.GetClaim("htu").Value);
        Assert.Equal(Now.ToUnixTimeSeconds(), long.Parse(jwt.GetClaim("iat").Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("n-1", jwt.GetClaim("nonce").Value);
        Assert.Equal(Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes("token-1"))), jwt.GetClaim("ath").Value);

        // The embedded jwk verifies the signature, and it holds no private part.
        var header = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(proof.Split('.')[0]));
        var jwkJson = System.Text.Json.JsonDocument.Parse(header).RootElement.GetProperty("jwk").GetRawText();
        var jwk = new JsonWebKey(jwkJson);
        Assert.Null(jwk.D);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(proof, new TokenValidationParameters
        {
            IssuerSigningKey = jwk,
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            ValidTypes = ["dpop+jwt"],
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(key.Thumbprint, Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint()));
    }

    [Fact]
    public void Every_proof_has_its_own_jti()
    {
        using var key = DpopKey.Generate();
        var ids = Enumerable.Range(0, 50).Select(_ => new JsonWebToken(DpopProof.Create(key, "POST", new Uri("https://as.example/token"), Now)).Id).ToList();
        Assert.Equal(50, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(id.Length >= 22));
    }

    [Theory]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("PS256")]
    [InlineData("RS256")]
    public void A_key_survives_sealing_with_its_algorithm_and_thumbprint_and_never_prints_its_private_part(string algorithm)
    {
        using var key = DpopKey.Generate(algorithm);
        var sealable = key.ExportSealable();
        using var imported = DpopKey.ImportSealable(sealable);

        Assert.Equal((algorithm, key.Thumbprint), (imported.Algorithm, imported.Thumbprint));
        Assert.DoesNotContain(sealable.Split(':')[^1], key.ToString(), StringComparison.Ordinal);
        Assert.Contains(key.Thumbprint, key.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_es256_key_sealed_before_other_algorithms_existed_still_opens()
    {
        using var original = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var imported = DpopKey.ImportSealable(Convert.ToBase64String(original.ExportPkcs8PrivateKey()));
        Assert.Equal("ES256", imported.Algorithm);
    }

    [Fact]
    public void A_sealed_key_whose_algorithm_does_not_fit_the_key_is_refused()
    {
        using var p256 = DpopKey.Generate("ES256");
        Assert.ThrowsAny<CryptographicException>(() => DpopKey.ImportSealable("ES384:" + p256.ExportSealable()));
        Assert.ThrowsAny<CryptographicException>(() => DpopKey.ImportSealable("HS256:" + p256.ExportSealable()));
    }

    [Theory]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("PS256")]
    [InlineData("RS256")]
    public async Task Every_supported_algorithm_makes_proofs_that_verify_with_their_jwk_and_thumbprint(string algorithm)
    {
        using var key = DpopKey.Generate(algorithm);
        var proof = DpopProof.Create(key, "POST", new Uri("https://as.example/token"), Now, accessToken: "token-1");

        Assert.Equal(algorithm, new JsonWebToken(proof).Alg);
        var header = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(proof.Split('.')[0]));
        var jwk = new JsonWebKey(System.Text.Json.JsonDocument.Parse(header).RootElement.GetProperty("jwk").GetRawText());
        Assert.False(jwk.HasPrivateKey);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(proof, new TokenValidationParameters
        {
            IssuerSigningKey = jwk,
            ValidAlgorithms = [algorithm],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            ValidTypes = ["dpop+jwt"],
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(key.Thumbprint, Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint()));
    }
}
