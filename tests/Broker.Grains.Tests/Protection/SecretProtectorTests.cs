using System.Security.Cryptography;
using Broker.Abstractions;
using Broker.Grains.Protection;
using Microsoft.Extensions.Options;

namespace Broker.Grains.Tests.Protection;

public sealed class SecretProtectorTests
{
    private static KeyRing Ring(string primary, params (string Id, byte[] Key)[] keys) => new(Options.Create(new EncryptionOptions
    {
        PrimaryKeyId = primary,
        Keys = [.. keys.Select(k => new EncryptionKeyOptions { Id = k.Id, Key = Convert.ToBase64String(k.Key) })],
    }));

    private static readonly byte[] KeyA = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] KeyB = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void Round_trips_and_never_reuses_a_nonce()
    {
        var protector = new SecretProtector(Ring("a", ("a", KeyA)));

        var sealedOnce = protector.Protect("secret-value", "family/p/s/refresh_token");
        var sealedTwice = protector.Protect("secret-value", "family/p/s/refresh_token");

        Assert.Equal("secret-value", protector.Unprotect(sealedOnce, "family/p/s/refresh_token"));
        Assert.NotEqual(sealedOnce.Nonce, sealedTwice.Nonce);
        Assert.NotEqual(sealedOnce.Ciphertext, sealedTwice.Ciphertext);
        Assert.Equal("a", sealedOnce.KeyId);
    }

    [Fact]
    public void Ciphertext_moved_to_another_grain_or_field_does_not_decrypt()
    {
        var protector = new SecretProtector(Ring("a", ("a", KeyA)));
        var secret = protector.Protect("secret-value", "family/p/alice/refresh_token");

        Assert.Equal(BrokerErrorReason.StateUnreadable,
            Assert.Throws<BrokerException>(() => protector.Unprotect(secret, "family/p/mallory/refresh_token")).Reason);
        Assert.Equal(BrokerErrorReason.StateUnreadable,
            Assert.Throws<BrokerException>(() => protector.Unprotect(secret, "family/p/alice/access_token")).Reason);
    }

    [Fact]
    public void Tampered_ciphertext_or_tag_does_not_decrypt()
    {
        var protector = new SecretProtector(Ring("a", ("a", KeyA)));
        var secret = protector.Protect("secret-value", "ctx");
        var flipped = (byte[])secret.Ciphertext.Clone();
        flipped[0] ^= 1;
        var badTag = (byte[])secret.Tag.Clone();
        badTag[^1] ^= 1;

        Assert.Throws<BrokerException>(() => protector.Unprotect(secret with { Ciphertext = flipped }, "ctx"));
        Assert.Throws<BrokerException>(() => protector.Unprotect(secret with { Tag = badTag }, "ctx"));
    }

    [Fact]
    public void After_rotation_new_writes_use_the_new_key_and_old_ones_still_decrypt()
    {
        var before = new SecretProtector(Ring("a", ("a", KeyA)));
        var old = before.Protect("secret-value", "ctx");
        var after = new SecretProtector(Ring("b", ("a", KeyA), ("b", KeyB)));

        Assert.Equal("secret-value", after.Unprotect(old, "ctx"));
        Assert.True(after.NeedsReencryption(old));
        Assert.Equal("b", after.Protect("x", "ctx").KeyId);
        // Once the old key is retired, what it sealed is reported as unreadable rather than silently lost.
        var retired = new SecretProtector(Ring("b", ("b", KeyB)));
        Assert.Equal(BrokerErrorReason.StateUnreadable, Assert.Throws<BrokerException>(() => retired.Unprotect(old, "ctx")).Reason);
    }

    [Fact]
    public void Fingerprints_match_their_token_only_and_survive_rotation()
    {
        var ring = Ring("a", ("a", KeyA));
        var fingerprint = new TokenFingerprint(ring).Of("refresh-1");
        var rotated = new TokenFingerprint(Ring("b", ("a", KeyA), ("b", KeyB)));

        Assert.DoesNotContain("refresh-1", fingerprint);
        Assert.True(rotated.Matches("refresh-1", fingerprint));
        Assert.False(rotated.Matches("refresh-2", fingerprint));
        Assert.False(rotated.Matches("refresh-1", "garbage"));
    }

    [Theory]
    [InlineData(null, "Broker:Encryption:Keys:0:Key")]
    [InlineData("c2hvcnQ=", "32 bytes")]
    [InlineData("not base64!", "32 bytes")]
    public void Missing_or_short_key_is_named(string? key, string expected)
    {
        var result = new EncryptionOptionsValidator().Validate(null, new EncryptionOptions { Keys = [new EncryptionKeyOptions { Id = "k", Key = key }] });

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage);
    }

    [Fact]
    public void Empty_key_ring_is_named()
    {
        var result = new EncryptionOptionsValidator().Validate(null, new EncryptionOptions());
        Assert.Contains("Broker:Encryption:Keys", result.FailureMessage);
    }
}
