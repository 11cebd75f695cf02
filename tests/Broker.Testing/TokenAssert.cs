using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace Broker.Testing;

/// <summary>
/// Assertions about tokens that never print one: a failure names short fingerprints instead, so test output
/// holds no usable secret.
/// </summary>
public static class TokenAssert
{
    public static string Fingerprint(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..12];

    public static void Same(string expected, string actual) =>
        Assert.True(expected == actual, $"expected token {Fingerprint(expected)}, got {Fingerprint(actual)}");

    public static void Different(string unexpected, string actual) =>
        Assert.True(unexpected != actual, $"expected a token other than {Fingerprint(unexpected)}");

    /// <summary>The secret appears in none of the texts (logs, pages); a failure names only its fingerprint.</summary>
    public static void NotIn(string secret, IEnumerable<string> texts) =>
        Assert.False(texts.Any(t => t.Contains(secret, StringComparison.Ordinal)), $"secret {Fingerprint(secret)} was found in the output.");

    public static void AllSame(IEnumerable<string> tokens) => DistinctCount(1, tokens);

    public static void DistinctCount(int expected, IEnumerable<string> tokens)
    {
        var distinct = tokens.Distinct().Select(Fingerprint).ToList();
        Assert.True(distinct.Count == expected, $"expected {expected} distinct tokens, got {distinct.Count}: {string.Join(", ", distinct.Take(10))}");
    }
}
