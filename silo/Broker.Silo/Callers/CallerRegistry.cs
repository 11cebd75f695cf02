using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Silo.Callers;

/// <summary>The configured callers, found by the credential they present.</summary>
public sealed class CallerRegistry
{
    /// <summary>The claim every authentication scheme adds: the caller's configured name.</summary>
    public const string CallerClaim = "broker:caller";

    private readonly Dictionary<string, Caller> _byName;
    private readonly (byte[] Hash, string Caller)[] _apiKeys;
    private readonly Dictionary<string, string> _workloads;
    private readonly Dictionary<string, string> _certificates;
    private readonly VerifiedApiKeys _verified = new();

    public CallerRegistry(IReadOnlyDictionary<string, CallerOptions> callers, bool openForDevelopment)
    {
        _byName = callers.ToDictionary(c => c.Key, c => new Caller(c.Key, c.Value), StringComparer.Ordinal);
        _apiKeys = [.. callers.SelectMany(c => c.Value.ApiKeyHashes.Select(h =>
            (ApiKeyHash.TryParse(h, out var bytes) ? bytes : [], c.Key)))];
        _workloads = callers.SelectMany(c => c.Value.WorkloadSubjects.Select(s => (s, c.Key)))
            .ToDictionary(p => p.s, p => p.Key, StringComparer.Ordinal);
        _certificates = callers.SelectMany(c => c.Value.CertificateThumbprints.Select(t => (t, c.Key)))
            .ToDictionary(p => p.t, p => p.Key, StringComparer.OrdinalIgnoreCase);
        IsOpenForDevelopment = openForDevelopment && callers.Count == 0;
    }

    /// <summary>Embedded mode with no caller configured: every call is the development caller.</summary>
    public bool IsOpenForDevelopment { get; }

    public int Count => _byName.Count;

    /// <summary>The callers that receive events by webhook.</summary>
    public IEnumerable<Caller> WithWebhooks() => _byName.Values.Where(c => c.Webhook is not null);

    /// <summary>A configured caller by name (the name an authentication scheme found, an event's owner).</summary>
    public Caller? Named(string name) => _byName.GetValueOrDefault(name);

    public Caller? Resolve(ClaimsPrincipal user)
    {
        if (user.FindFirst(CallerClaim)?.Value is { } name && _byName.TryGetValue(name, out var caller)) return caller;
        return IsOpenForDevelopment ? Caller.Development : null;
    }

    /// <summary>The caller owning this key. Every stored hash is compared, in constant time, whatever matches.</summary>
    public string? FindByApiKey(string apiKey) => FindByApiKey(apiKey.AsSpan());

    public string? FindByApiKey(ReadOnlySpan<char> apiKey)
    {
        if (_verified.Find(apiKey) is { } known) return known;
        var presented = ApiKeyHash.Of(apiKey);
        string? found = null;
        foreach (var (hash, caller) in _apiKeys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, presented)) found = caller;
        }
        if (found is not null) _verified.Remember(apiKey.ToString(), found);
        return found;
    }

    public string? FindByWorkloadSubject(string subject) => _workloads.GetValueOrDefault(subject);

    public string? FindByCertificate(X509Certificate2 certificate) =>
        _certificates.GetValueOrDefault(certificate.GetCertHashString(HashAlgorithmName.SHA256));

    public static ClaimsPrincipal PrincipalFor(string caller, string scheme) =>
        new(new ClaimsIdentity([new Claim(CallerClaim, caller)], scheme));
}
