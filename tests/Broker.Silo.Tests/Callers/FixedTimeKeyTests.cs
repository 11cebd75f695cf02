using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Broker.Silo.Callers;

namespace Broker.Silo.Tests.Callers;

public sealed class FixedTimeKeyTests
{
    [Fact]
    public void Keys_are_equal_only_when_every_bit_of_every_character_is()
    {
        foreach (var length in new[] { 0, 1, 3, 4, 5, 46, 47, 64 })
        {
            var key = RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789_-", length);
            Assert.True(FixedTimeKey.AreEqual(key, new string(key.ToCharArray())));
            for (var at = 0; at < length; at++)
            {
                for (var bit = 0; bit < 16; bit++)
                {
                    var changed = key.ToCharArray();
                    changed[at] = (char)(changed[at] ^ (1 << bit));
                    Assert.False(FixedTimeKey.AreEqual(key, changed), $"length {length}, character {at}, bit {bit}");
                }
            }
        }
    }

    [Fact]
    public void Keys_of_different_lengths_are_not_equal()
    {
        var key = ApiKeyHash.NewKey();
        Assert.False(FixedTimeKey.AreEqual(key, key.AsSpan(0, key.Length - 1)));
        Assert.False(FixedTimeKey.AreEqual(key, key + key[^1]));
        Assert.False(FixedTimeKey.AreEqual("", key));
    }

    [Fact]
    public void It_answers_as_the_framework_comparison_does()
    {
        var random = new Random(7);
        var equal = 0;
        for (var i = 0; i < 2_000; i++)
        {
            var left = new char[random.Next(0, 60)];
            var right = new char[random.Next(0, 2) == 0 ? left.Length : random.Next(0, 60)];
            for (var c = 0; c < left.Length; c++) left[c] = (char)random.Next('a', 'd');
            for (var c = 0; c < right.Length; c++) right[c] = c < left.Length && random.Next(0, 8) > 0 ? left[c] : (char)random.Next('a', 'd');
            var expected = CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(left.AsSpan()), MemoryMarshal.AsBytes(right.AsSpan()));
            Assert.Equal(expected, FixedTimeKey.AreEqual(left, right));
            if (expected) equal++;
        }
        Assert.InRange(equal, 100, 1_900); // both answers were asked for
    }
}
