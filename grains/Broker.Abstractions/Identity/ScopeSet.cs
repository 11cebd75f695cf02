using System.Collections.Immutable;

namespace Broker.Abstractions.Identity;

/// <summary>
/// A set of OAuth scope tokens (RFC 6749 §3.3): order and duplicates carry no meaning, so the
/// canonical form is sorted and distinct. Two requests for the same scopes share one cache entry.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class ScopeSet : IEquatable<ScopeSet>
{
    public const int MaxScopes = 64;
    public const int MaxScopeLength = 256;

    public static readonly ScopeSet Empty = new(ImmutableArray<string>.Empty);

    [Id(0)] public ImmutableArray<string> Values { get; }

    private ScopeSet(ImmutableArray<string> values) => Values = values;

    public bool IsEmpty => Values.IsDefaultOrEmpty;

    /// <summary>The space-delimited form used on the wire.</summary>
    public override string ToString() => IsEmpty ? "" : string.Join(' ', Values);

    public static bool TryParse(IEnumerable<string>? scopes, out ScopeSet set, out string? error)
    {
        set = Empty;
        error = null;
        if (scopes is null) return true;
        if (scopes is IReadOnlyList<string> list && IsCanonical(list))
        {
            // Already sorted, distinct and valid (what our clients send, and every cache hit's request): no sorted set.
            set = list.Count == 0 ? Empty : new ScopeSet(CopyOf(list));
            return true;
        }
        var distinct = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var scope in scopes)
        {
            if (!IsScopeToken(scope))
            {
                error = $"each scope must be 1-{MaxScopeLength} characters of %x21 / %x23-5B / %x5D-7E (RFC 6749 §3.3).";
                return false;
            }
            distinct.Add(scope);
            if (distinct.Count > MaxScopes)
            {
                error = $"at most {MaxScopes} scopes may be requested.";
                return false;
            }
        }
        set = distinct.Count == 0 ? Empty : new ScopeSet([.. distinct]);
        return true;
    }

    private static bool IsCanonical(IReadOnlyList<string> scopes)
    {
        if (scopes.Count > MaxScopes) return false;
        for (var i = 0; i < scopes.Count; i++)
        {
            if (!IsScopeToken(scopes[i]) || (i > 0 && string.CompareOrdinal(scopes[i - 1], scopes[i]) >= 0)) return false;
        }
        return true;
    }

    private static ImmutableArray<string> CopyOf(IReadOnlyList<string> scopes)
    {
        var values = new string[scopes.Count];
        for (var i = 0; i < values.Length; i++) values[i] = scopes[i];
        return System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(values);
    }

    public static ScopeSet Parse(IEnumerable<string>? scopes) => TryParse(scopes, out var set, out var error)
        ? set
        : throw new BrokerException(BrokerErrorReason.InvalidArgument, error!);

    /// <summary>Parses the space-delimited form a token endpoint returns.</summary>
    public static ScopeSet ParseDelimited(string? scope) =>
        Parse(scope?.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    public static bool IsScopeToken(string? scope)
    {
        if (string.IsNullOrEmpty(scope) || scope.Length > MaxScopeLength) return false;
        foreach (var c in scope)
        {
            if (c < 0x21 || c > 0x7E || c == '"' || c == '\\') return false;
        }
        return true;
    }

    public bool IsSubsetOf(ScopeSet other) => Values.All(other.Values.Contains);

    public ScopeSet Union(ScopeSet other) => Parse(Values.Concat(other.Values));

    public bool Equals(ScopeSet? other) => other is not null && Values.SequenceEqual(other.Values);
    public override bool Equals(object? obj) => Equals(obj as ScopeSet);
    // Hashed value by value, not through ToString: a client token's cache key is hashed on every call.
    public override int GetHashCode()
    {
        if (IsEmpty) return 0;
        var hash = new HashCode();
        foreach (var value in Values) hash.Add(value, StringComparer.Ordinal);
        return hash.ToHashCode();
    }
}
