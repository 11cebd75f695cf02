using System.Text.Json;

namespace Broker.OAuth.Discovery;

/// <summary>The parts of an RFC 8414 / OpenID Provider metadata document that the broker uses.</summary>
public sealed record AuthorizationServerMetadata(
    string Issuer,
    Uri AuthorizationEndpoint,
    Uri TokenEndpoint,
    Uri? RevocationEndpoint,
    IReadOnlyList<string> CodeChallengeMethods,
    bool AuthorizationResponseIssParameterSupported)
{
    /// <summary>RFC 8705 §5 <c>mtls_endpoint_aliases</c>: where a client authenticating with TLS must send its requests.</summary>
    public Uri? MtlsTokenEndpoint { get; init; }

    public Uri? MtlsRevocationEndpoint { get; init; }

    /// <summary>RFC 9449 §5.1 <c>dpop_signing_alg_values_supported</c>: empty when the server does not announce DPoP.</summary>
    public IReadOnlyList<string> DpopSigningAlgorithms { get; init; } = [];

    public Uri TokenEndpointFor(bool mutualTls) => mutualTls && MtlsTokenEndpoint is { } alias ? alias : TokenEndpoint;

    public Uri? RevocationEndpointFor(bool mutualTls) => mutualTls && MtlsRevocationEndpoint is { } alias ? alias : RevocationEndpoint;

    /// <summary>Parses a metadata document, or returns null with the reason when it is unusable.</summary>
    public static AuthorizationServerMetadata? Parse(JsonElement document, out string? error)
    {
        error = null;
        if (document.ValueKind != JsonValueKind.Object)
        {
            error = "the metadata document is not a JSON object.";
            return null;
        }

        var issuer = GetString(document, "issuer");
        var authorization = GetUri(document, "authorization_endpoint");
        var token = GetUri(document, "token_endpoint");
        if (issuer is null || authorization is null || token is null)
        {
            error = "the metadata document lacks issuer, authorization_endpoint or token_endpoint.";
            return null;
        }

        var methods = GetStrings(document, "code_challenge_methods_supported");
        var iss = document.TryGetProperty("authorization_response_iss_parameter_supported", out var i) && i.ValueKind == JsonValueKind.True;

        var aliases = document.TryGetProperty("mtls_endpoint_aliases", out var a) && a.ValueKind == JsonValueKind.Object ? a : default;
        return new AuthorizationServerMetadata(issuer, authorization, token, GetUri(document, "revocation_endpoint"), methods, iss)
        {
            MtlsTokenEndpoint = aliases.ValueKind == JsonValueKind.Object ? GetUri(aliases, "token_endpoint") : null,
            MtlsRevocationEndpoint = aliases.ValueKind == JsonValueKind.Object ? GetUri(aliases, "revocation_endpoint") : null,
            DpopSigningAlgorithms = GetStrings(document, "dpop_signing_alg_values_supported"),
        };
    }

    private static string[] GetStrings(JsonElement document, string name) =>
        document.TryGetProperty(name, out var values) && values.ValueKind == JsonValueKind.Array
            ? values.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToArray()
            : [];

    private static string? GetString(JsonElement document, string name) =>
        document.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static Uri? GetUri(JsonElement document, string name) =>
        Uri.TryCreate(GetString(document, name), UriKind.Absolute, out var uri) ? uri : null;
}
