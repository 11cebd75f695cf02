using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Dpop;

/// <summary>
/// A DPoP key pair (RFC 9449 §2) for one JWS algorithm: ES256 (the default), ES384, ES512 (ECDSA on P-256, P-384,
/// P-521), PS256 or RS256 (RSA 2048). The private part leaves this object only as <see cref="ExportSealable"/>, for
/// sealing into grain state; <see cref="ToString"/> names the algorithm and the thumbprint only.
/// </summary>
public sealed class DpopKey : IDisposable
{
    public const string DefaultAlgorithm = "ES256";

    /// <summary>What the broker can sign proofs with, in the order it prefers them (small, fast EC keys first).</summary>
    public static readonly IReadOnlyList<string> SupportedAlgorithms = ["ES256", "ES384", "ES512", "PS256", "RS256"];

    private readonly AsymmetricAlgorithm _key;
    private readonly string _publicJwk;

    private DpopKey(AsymmetricAlgorithm key, string algorithm)
    {
        _key = key;
        Algorithm = algorithm;
        // RFC 7638 §3.2: the required members only, in lexicographic order, without whitespace; the same text is
        // the public jwk of every proof (members in any order are valid there).
        _publicJwk = key switch
        {
            ECDsa ec => EcJwk(ec, algorithm),
            RSA rsa => RsaJwk(rsa),
            _ => throw new CryptographicException("a DPoP key is ECDSA or RSA."),
        };
        Thumbprint = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(_publicJwk)));
    }

    /// <summary>The JWS algorithm every proof of this key names in its header.</summary>
    public string Algorithm { get; }

    /// <summary>RFC 7638 JWK thumbprint (SHA-256, base64url): the <c>jkt</c> a bound token's <c>cnf</c> names.</summary>
    public string Thumbprint { get; }

    public static bool IsSupported(string algorithm) => SupportedAlgorithms.Contains(algorithm, StringComparer.Ordinal);

    /// <summary>A new key pair for <paramref name="algorithm"/> from the system's random source.</summary>
    public static DpopKey Generate(string algorithm = DefaultAlgorithm) => algorithm switch
    {
        "ES256" => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), algorithm),
        "ES384" => new(ECDsa.Create(ECCurve.NamedCurves.nistP384), algorithm),
        "ES512" => new(ECDsa.Create(ECCurve.NamedCurves.nistP521), algorithm),
        "PS256" or "RS256" => new(RSA.Create(2048), algorithm),
        _ => throw new ArgumentException($"'{algorithm}' is not a DPoP algorithm the broker supports.", nameof(algorithm)),
    };

    /// <summary>
    /// The private key as text to seal: the algorithm, a colon and the PKCS#8 form in base64. An ES256 key is the
    /// base64 alone, the form keys sealed before other algorithms existed have.
    /// </summary>
    public string ExportSealable()
    {
        var pkcs8 = _key.ExportPkcs8PrivateKey();
        try
        {
            var encoded = Convert.ToBase64String(pkcs8);
            return Algorithm == DefaultAlgorithm ? encoded : $"{Algorithm}:{encoded}";
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>A key from what <see cref="ExportSealable"/> gave.</summary>
    public static DpopKey ImportSealable(string sealable)
    {
        var colon = sealable.IndexOf(':', StringComparison.Ordinal);
        var algorithm = colon < 0 ? DefaultAlgorithm : sealable[..colon];
        if (!IsSupported(algorithm)) throw new CryptographicException("the sealed DPoP key names an unknown algorithm.");
        var pkcs8 = Convert.FromBase64String(colon < 0 ? sealable : sealable[(colon + 1)..]);
        AsymmetricAlgorithm key = algorithm.StartsWith("ES", StringComparison.Ordinal) ? ECDsa.Create() : RSA.Create();
        try
        {
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            return new DpopKey(key, algorithm);
        }
        catch
        {
            key.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>Writes the public JWK (nothing private) as the value of the current property.</summary>
    internal void WritePublicJwk(System.Text.Json.Utf8JsonWriter writer) => writer.WriteRawValue(_publicJwk, skipInputValidation: true);

    /// <summary>The JWS signature over <paramref name="data"/> (RFC 7518 §3.3-3.5; ECDSA as IEEE P1363 r||s).</summary>
    internal byte[] Sign(ReadOnlySpan<byte> data) => (_key, Algorithm) switch
    {
        (ECDsa ec, "ES256") => ec.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        (ECDsa ec, "ES384") => ec.SignData(data, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        (ECDsa ec, "ES512") => ec.SignData(data, HashAlgorithmName.SHA512, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        (RSA rsa, "PS256") => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
        (RSA rsa, "RS256") => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new CryptographicException($"a {_key.GetType().Name} key cannot sign {Algorithm}."),
    };

    private static int CurveBits(string algorithm) => algorithm switch { "ES256" => 256, "ES384" => 384, _ => 521 };

    private static string EcJwk(ECDsa key, string algorithm)
    {
        var p = key.ExportParameters(includePrivateParameters: false);
        var crv = algorithm switch { "ES256" => "P-256", "ES384" => "P-384", _ => "P-521" };
        if (key.KeySize != CurveBits(algorithm)) throw new CryptographicException($"an {algorithm} key must be on {crv}.");
        return $"{{\"crv\":\"{crv}\",\"kty\":\"EC\",\"x\":\"{Base64UrlEncoder.Encode(p.Q.X)}\",\"y\":\"{Base64UrlEncoder.Encode(p.Q.Y)}\"}}";
    }

    private static string RsaJwk(RSA key)
    {
        var p = key.ExportParameters(includePrivateParameters: false);
        return $"{{\"e\":\"{Base64UrlEncoder.Encode(p.Exponent)}\",\"kty\":\"RSA\",\"n\":\"{Base64UrlEncoder.Encode(p.Modulus)}\"}}";
    }

    public override string ToString() => $"DpopKey {{ alg = {Algorithm}, jkt = {Thumbprint} }}";

    public void Dispose() => _key.Dispose();
}
