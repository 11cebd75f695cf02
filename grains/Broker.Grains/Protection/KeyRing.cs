using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Broker.Grains.Protection;

/// <summary>The configured keys, loaded and checked once.</summary>
public sealed class KeyRing
{
    public const int KeySize = 32;

    private readonly Dictionary<string, byte[]> _keys;

    public KeyRing(IOptions<EncryptionOptions> options)
    {
        var o = options.Value;
        _keys = o.Keys.ToDictionary(k => k.Id!, k => Convert.FromBase64String(Read(k)), StringComparer.Ordinal);
        PrimaryKeyId = o.PrimaryKeyId ?? o.Keys.Single().Id!;
    }

    private KeyRing(string id, byte[] key)
    {
        _keys = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [id] = key };
        PrimaryKeyId = id;
    }

    /// <summary>A key that lives only as long as the process: for the embedded default, where nothing is durable anyway.</summary>
    public static KeyRing Ephemeral() => new("ephemeral", RandomNumberGenerator.GetBytes(KeySize));

    public string PrimaryKeyId { get; }

    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    public bool TryGet(string keyId, out byte[] key) => _keys.TryGetValue(keyId, out key!);

    public byte[] Primary => _keys[PrimaryKeyId];

    internal static string Read(EncryptionKeyOptions key) =>
        key.Key ?? File.ReadAllText(key.KeyFile!).Trim();
}

/// <summary>Stops the silo at start when the key ring is missing or weak, naming the setting.</summary>
public sealed class EncryptionOptionsValidator : IValidateOptions<EncryptionOptions>
{
    public ValidateOptionsResult Validate(string? name, EncryptionOptions options)
    {
        var failures = new List<string>();
        var prefix = EncryptionOptions.Section;
        if (options.Keys.Count == 0)
        {
            return ValidateOptionsResult.Fail(
                $"{prefix}:Keys is required: at least one key with an Id and a base64 Key (or KeyFile) of {KeyRing.KeySize} bytes.");
        }
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            if (string.IsNullOrWhiteSpace(key.Id))
                failures.Add($"{prefix}:Keys:{i}:Id is required.");
            if (key.Key is null && key.KeyFile is null)
            {
                failures.Add($"{prefix}:Keys:{i}:Key or {prefix}:Keys:{i}:KeyFile is required.");
                continue;
            }
            if (key.KeyFile is not null && !File.Exists(key.KeyFile))
            {
                failures.Add($"{prefix}:Keys:{i}:KeyFile names a file that does not exist.");
                continue;
            }
            var bytes = new byte[KeyRing.KeySize * 2];
            if (!Convert.TryFromBase64String(KeyRing.Read(key), bytes, out var length) || length != KeyRing.KeySize)
                failures.Add($"{prefix}:Keys:{i}: the key must be {KeyRing.KeySize} bytes, base64-encoded (openssl rand -base64 32).");
        }
        var ids = options.Keys.Select(k => k.Id).Where(id => id is not null).ToList();
        if (ids.Count != ids.Distinct(StringComparer.Ordinal).Count())
            failures.Add($"{prefix}:Keys: key ids must be unique.");
        if (options.PrimaryKeyId is null && options.Keys.Count > 1)
            failures.Add($"{prefix}:PrimaryKeyId is required when more than one key is configured.");
        if (options.PrimaryKeyId is not null && !ids.Contains(options.PrimaryKeyId))
            failures.Add($"{prefix}:PrimaryKeyId names no configured key.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
