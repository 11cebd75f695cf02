using Broker.Abstractions.Identity;
using Broker.Grains.Families;
using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;
using Xunit;

namespace Broker.Grains.Tests.Protection;

/// <summary>
/// Someone with write access to the database alters a stored ciphertext, or copies one family's row over
/// another's. The row's seal, bound to the grain (and AES-GCM's associated data beneath it), must refuse both; the family is marked
/// (reauthorization_required / state_unreadable, callers get DATA_LOSS), not silently reset, and its stored
/// ciphertext is kept for investigation.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StoredStateTamperingTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private TestAuthorizationServer _server = null!;
    private string _database = null!;
    private ClusterSpec _spec = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _database = await infrastructure.NewDatabaseAsync();
        _spec = ClusterSpec.New(_database, infrastructure.Redis.Configuration, ProviderSettings.For("test", _server));
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = Broker.Silo.Hosting.BrokerMode.Cluster, PostgreSql = _database, Redis = _spec.Redis, ClusterId = _spec.ClusterId,
            ServiceId = _spec.ServiceId, EncryptionKey = _spec.EncryptionKey, Settings = _spec.Settings, LoggerProvider = _logs,
        });
        await _server.AddRedirectUriAsync("broker", _silo.RedirectUri("test"));
    }

    [Fact]
    public async Task Tampered_or_swapped_ciphertext_marks_the_family_and_keeps_the_record()
    {
        foreach (var subject in new[] { "tampered", "swapped", "donor", "untouched" })
            await AuthorizationFlow.AuthorizeAsync(_silo, "test", subject, "api.read");
        var untouched = await _silo.Client.GetAccessTokenAsync(Request("untouched"));

        var tamperedCiphertext = await AlterAsync("tampered", state => state.AccessToken!.Ciphertext[0] ^= 0x01);
        await ExecuteAsync("UPDATE orleansstorage SET payloadbinary = (SELECT payloadbinary FROM orleansstorage WHERE grainidextensionstring = @donor AND graintypestring = 'family') WHERE grainidextensionstring = @target AND graintypestring = 'family'",
            ("donor", Key("donor")), ("target", Key("swapped")));
        await _silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero); // next call reads the rows

        foreach (var subject in new[] { "tampered", "swapped" })
        {
            await GrpcAssert.FailsWith(StatusCode.DataLoss, "STATE_UNREADABLE", () => _silo.Client.GetAccessTokenAsync(Request(subject)).ResponseAsync);
            await GrpcAssert.FailsWith(StatusCode.DataLoss, "STATE_UNREADABLE", () => _silo.Client.GetAccessTokenAsync(Request(subject)).ResponseAsync);
            var described = await _silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = subject });
            Assert.Equal("reauthorization_required", described.Status);
            Assert.Equal("state_unreadable", described.StatusReason);
        }
        Assert.Equal(2, _logs.Entries.Count(e => e.Contains("#2101", StringComparison.Ordinal)));

        // Marked, not reset: the altered ciphertext is still what the row holds.
        var (_, stored) = await ReadAsync("tampered");
        Assert.Equal(tamperedCiphertext, stored.AccessToken!.Ciphertext);
        // Neighbours are unaffected, and a new authorization repairs a marked family.
        TokenAssert.Same(untouched.AccessToken_, (await _silo.Client.GetAccessTokenAsync(Request("untouched"))).AccessToken_);
        Assert.True(await _server.IsActiveAsync((await _silo.Client.GetAccessTokenAsync(Request("donor"))).AccessToken_));
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "tampered", "api.read");
        Assert.True(await _server.IsActiveAsync((await _silo.Client.GetAccessTokenAsync(Request("tampered"))).AccessToken_));
    }

    private static GetAccessTokenRequest Request(string subject) => new() { Provider = "test", Subject = subject };

    private static string Key(string subject) => new FamilyKey(ProviderName.Parse("test"), Subject.Parse(subject)).ToGrainKey();

    private OrleansGrainStorageSerializer Serializer => new(_silo.Services.GetRequiredService<Orleans.Serialization.Serializer>());

    private async Task<(byte[] Header, TokenFamilyState State)> ReadAsync(string subject)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT payloadbinary FROM orleansstorage WHERE grainidextensionstring = @key AND graintypestring = 'family'", connection);
        read.Parameters.AddWithValue("key", Key(subject));
        var (header, payload) = StoredRows.Split((byte[])(await read.ExecuteScalarAsync())!);
        return (header, Serializer.Deserialize<TokenFamilyState>(new BinaryData(payload)) ?? throw new InvalidOperationException("the row holds no state."));
    }

    /// <summary>What an attacker with the database could do: decode the row, change bytes, write it back.</summary>
    private async Task<byte[]> AlterAsync(string subject, Action<TokenFamilyState> change)
    {
        var (header, state) = await ReadAsync(subject);
        change(state);
        await ExecuteAsync("UPDATE orleansstorage SET payloadbinary = @payload WHERE grainidextensionstring = @key AND graintypestring = 'family'",
            ("payload", (byte[])[.. header, .. Serializer.Serialize(state).ToArray()]), ("key", Key(subject)));
        return state.AccessToken!.Ciphertext;
    }

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }
}
