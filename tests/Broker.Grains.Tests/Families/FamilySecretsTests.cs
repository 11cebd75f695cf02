using System.Security.Cryptography;
using Broker.Grains.Families;
using Broker.Grains.Protection;
using Broker.OAuth.Dpop;
using Microsoft.Extensions.Options;

namespace Broker.Grains.Tests.Families;

public sealed class FamilySecretsTests
{
    private static readonly KeyRing Ring = new(Options.Create(new EncryptionOptions
    {
        PrimaryKeyId = "a",
        Keys = [new EncryptionKeyOptions { Id = "a", Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }],
    }));

    [Fact]
    public void The_dpop_key_is_opened_once_per_sealed_value_and_disposed_with_the_activation_secrets()
    {
        var secrets = new FamilySecrets(new SecretProtector(Ring), new TokenFingerprint(Ring), "p/alice");
        using var made = DpopKey.Generate();
        var sealedKey = secrets.SealDpopKey(made);

        var opened = secrets.DpopKey(sealedKey);
        Assert.Same(opened, secrets.DpopKey(sealedKey)); // no AES-GCM open and ECDsa import per proof
        Assert.Equal(made.Thumbprint, opened.Thumbprint);
        DpopProof.Create(opened, "GET", new Uri("https://api.example/"), DateTimeOffset.UnixEpoch);

        secrets.Dispose();

        // The private key is freed when the activation ends, not whenever the finalizer runs.
        Assert.Throws<ObjectDisposedException>(() => DpopProof.Create(opened, "GET", new Uri("https://api.example/"), DateTimeOffset.UnixEpoch));
    }
}
