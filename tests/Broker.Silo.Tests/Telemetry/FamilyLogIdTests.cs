using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Broker.Silo.Tests.Telemetry;

/// <summary>
/// Logs, traces and audit events name a family by a short id, never by its subject. An unkeyed hash of
/// <c>provider/subject</c> is reversed by hashing a dictionary of likely subjects; the id is keyed (HMAC under a key
/// derived from the encryption key ring), so it reads the same across silos and restarts with the same keys, and
/// differs under other keys.
/// </summary>
public sealed partial class FamilyLogIdTests : IAsyncLifetime
{
    private TestAuthorizationServer _server = null!;

    public async Task InitializeAsync() => _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions());

    public Task DisposeAsync() => _server.DisposeAsync().AsTask();

    [Fact]
    public void The_id_is_the_first_64_bits_of_the_HMAC_of_the_grain_key_under_the_derived_key()
    {
        // Ops correlate ids across versions: the definition, written out, must keep giving the same ids.
        var primary = RandomNumberGenerator.GetBytes(32);
        var family = new Broker.Abstractions.Identity.FamilyKey(
            Broker.Abstractions.Identity.ProviderName.Parse("github"), Broker.Abstractions.Identity.Subject.Parse("tenant-a/alice"));
        var derived = HKDF.DeriveKey(HashAlgorithmName.SHA256, primary, 32, salt: [], info: Encoding.ASCII.GetBytes("broker/family-log-id/v1"));
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(derived, Encoding.UTF8.GetBytes(family.ToGrainKey())))[..16];

        Assert.Equal(expected, new Broker.Abstractions.Identity.FamilyLogId(primary).Of(family));
    }

    [GeneratedRegex(@"#(?<event>2009|6004) .*?(?:family|Family)[= ](?<id>[0-9a-f]{16})\b")]
    private static partial Regex FamilyInEvent();

    /// <summary>Imports tokens for test/alice on a new silo with this key; the family id of the grain's event and of the audit event.</summary>
    private async Task<(string Grain, string Audit)> LoggedIdsAsync(string encryptionKey)
    {
        var logs = new CapturingLoggerProvider();
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(ProviderSettings.For("test", _server), new() { ["Logging:LogLevel:Broker"] = "Information" }),
            EncryptionKey = encryptionKey,
            LoggerProvider = logs,
        });
        await silo.Client.ImportTokensAsync(new ImportTokensRequest { Provider = "test", Subject = "alice", AccessToken = "at-1", RefreshToken = "rt-1" });
        await Eventually.WaitUntilAsync(() => logs.Entries.Count(e => FamilyInEvent().IsMatch(e)) >= 2, "the import's grain and audit events", TimeSpan.FromSeconds(10));
        string IdOf(string eventId) => logs.Entries.Select(e => FamilyInEvent().Match(e)).First(m => m.Success && m.Groups["event"].Value == eventId).Groups["id"].Value;
        return (IdOf("2009"), IdOf("6004"));
    }

    [Fact]
    public async Task Family_ids_are_keyed_the_same_under_the_same_keys_and_not_an_unkeyed_hash_of_the_subject()
    {
        var key = BrokerSiloSettings.NewEncryptionKey();

        var first = await LoggedIdsAsync(key);
        var again = await LoggedIdsAsync(key);
        var otherKeys = await LoggedIdsAsync(BrokerSiloSettings.NewEncryptionKey());

        Assert.Equal(first.Grain, first.Audit); // operators correlate the grain's events with the audit trail
        Assert.Equal(first, again);              // and across silos and restarts that share the key ring
        Assert.NotEqual(first.Grain, otherKeys.Grain);
        var unkeyed = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("test/alice")));
        Assert.False(unkeyed.StartsWith(first.Grain, StringComparison.Ordinal), "the family id is an unkeyed hash of provider/subject");
    }

    [Fact]
    public async Task Broker_ops_computes_the_id_the_silos_log_from_the_same_settings()
    {
        var key = BrokerSiloSettings.NewEncryptionKey();
        await using var silo = await BrokerSilo.StartAsync(new BrokerSiloSettings { Settings = ProviderSettings.For("test", _server), EncryptionKey = key });
        var logged = silo.Services.GetRequiredService<Broker.Abstractions.Identity.FamilyLogId>().Of(new Broker.Abstractions.Identity.FamilyKey(
            Broker.Abstractions.Identity.ProviderName.Parse("test"), Broker.Abstractions.Identity.Subject.Parse("alice")));

        var ops = await OpsTool.RunAsync(new Dictionary<string, string?>
        {
            ["Broker:Encryption:Keys:0:Id"] = "test",
            ["Broker:Encryption:Keys:0:Key"] = key,
        }, "families", "log-id", "test", "alice", "--json");

        Assert.True(ops.ExitCode == 0, ops.Errors);
        Assert.Equal(logged, ops.Json[0].GetProperty("log_id").GetString());
        var unconfigured = await OpsTool.RunAsync(new Dictionary<string, string?>(), "families", "log-id", "test", "alice");
        Assert.Equal(2, unconfigured.ExitCode);
        Assert.Contains("Broker:Encryption:Keys", unconfigured.Errors, StringComparison.Ordinal);
    }
}
