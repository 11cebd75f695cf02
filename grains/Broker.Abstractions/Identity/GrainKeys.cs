namespace Broker.Abstractions.Identity;

/// <summary>
/// Composite grain keys. Each part is percent-encoded, so '/' can only ever be the separator and two
/// different tuples can never produce the same key.
/// </summary>
internal static class GrainKey
{
    public static string Join(params string[] parts) => string.Join('/', parts.Select(Uri.EscapeDataString));

    public static string[] Split(string key, int expectedParts)
    {
        var parts = key.Split('/');
        if (parts.Length != expectedParts)
            throw new FormatException($"grain key must have {expectedParts} parts.");
        return [.. parts.Select(Uri.UnescapeDataString)];
    }
}

/// <summary>One token family: the tokens a provider issued for one subject (RFC 9700 §4.14 "family").</summary>
[GenerateSerializer, Immutable]
public readonly record struct FamilyKey([property: Id(0)] ProviderName Provider, [property: Id(1)] Subject Subject)
{
    public string ToGrainKey() => GrainKey.Join(Provider.Value, Subject.Value);

    public static FamilyKey FromGrainKey(string key)
    {
        var parts = GrainKey.Split(key, 2);
        return new FamilyKey(ProviderName.Parse(parts[0]), Subject.Parse(parts[1]));
    }

    public override string ToString() => ToGrainKey();
}

/// <summary>
/// One client-credentials token: the key includes the scope set and the resource, so a token minted for one
/// audience is never handed to a caller that asked for another.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ClientTokenKey(
    [property: Id(0)] ProviderName Provider,
    [property: Id(1)] string ClientId,
    [property: Id(2)] ScopeSet Scopes,
    [property: Id(3)] string Resource)
{
    public string ToGrainKey() => GrainKey.Join(Provider.Value, ClientId, Scopes.ToString(), Resource);

    public static ClientTokenKey FromGrainKey(string key)
    {
        var parts = GrainKey.Split(key, 4);
        return new ClientTokenKey(ProviderName.Parse(parts[0]), parts[1], ScopeSet.ParseDelimited(parts[2]), parts[3]);
    }
}

/// <summary>One OAuth client at one provider: the unit that providers rate-limit.</summary>
[GenerateSerializer, Immutable]
public readonly record struct ClientKey([property: Id(0)] ProviderName Provider, [property: Id(1)] string ClientId)
{
    public string ToGrainKey() => GrainKey.Join(Provider.Value, ClientId);

    public static ClientKey FromGrainKey(string key)
    {
        var parts = GrainKey.Split(key, 2);
        return new ClientKey(ProviderName.Parse(parts[0]), parts[1]);
    }
}
