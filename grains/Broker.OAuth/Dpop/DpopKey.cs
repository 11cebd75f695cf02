using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Broker.OAuth.Dpop;

/// <summary>
/// A DPoP key pair (RFC 9449 §2): ECDSA P-256, signing ES256. The private part leaves this object only as
/// <see cref="ExportPrivateKey"/> for sealing into grain state; <see cref="ToString"/> names the thumbprint only.
/// </summary>
public sealed class DpopKey : IDisposable
{
    public const string Algorithm = "ES256";

    private readonly ECDsa _key;
    private readonly string _x;
    private readonly string _y;

    private DpopKey(ECDsa key)
    {
        _key = key;
        var p = key.ExportParameters(includePrivateParameters: false);
        if (p.Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            throw new CryptographicException("a DPoP key must be on P-256.");
        _x = Base64UrlEncoder.Encode(p.Q.X);
        _y = Base64UrlEncoder.Encode(p.Q.Y);
        Thumbprint = ComputeThumbprint(_x, _y);
    }

    /// <summary>A new key pair from the system's random source.</summary>
    public static DpopKey Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>A key from its PKCS#8 form (what <see cref="ExportPrivateKey"/> gave).</summary>
    public static DpopKey Import(ReadOnlySpan<byte> pkcs8)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            return new DpopKey(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>RFC 7638 JWK thumbprint (SHA-256, base64url): the <c>jkt</c> a bound token's <c>cnf</c> names.</summary>
    public string Thumbprint { get; }

    /// <summary>The private key in PKCS#8, to be sealed; never logged or returned by an API.</summary>
    public byte[] ExportPrivateKey() => _key.ExportPkcs8PrivateKey();

    /// <summary>Writes the public JWK (kty, crv, x, y: nothing private) as a JSON object.</summary>
    internal void WritePublicJwk(System.Text.Json.Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("kty", "EC");
        writer.WriteString("crv", "P-256");
        writer.WriteString("x", _x);
        writer.WriteString("y", _y);
        writer.WriteEndObject();
    }

    /// <summary>An IEEE P1363 (r||s) signature, the form JWS ES256 uses (RFC 7518 §3.4).</summary>
    internal byte[] Sign(ReadOnlySpan<byte> data) => _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    // RFC 7638 §3.2: the required members only, in lexicographic order, without whitespace.
    private static string ComputeThumbprint(string x, string y) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes($"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{x}\",\"y\":\"{y}\"}}")));

    public override string ToString() => $"DpopKey {{ jkt = {Thumbprint} }}";

    public void Dispose() => _key.Dispose();
}
