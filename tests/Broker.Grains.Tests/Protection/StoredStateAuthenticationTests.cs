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

namespace Broker.Grains.Tests.Protection;

/// <summary>
/// Someone with write access to the database, but not the key ring, edits a field that is not a secret (the
/// scopes: empty scopes pass every reader's policy) or puts back an older copy of a row whose secrets still
/// decrypt. Both are STATE_UNREADABLE on the real PostgreSQL: the family is marked, nothing is sent upstream.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StoredStateAuthenticationTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private TestAuthorizationServer _server = null!;
    private ClusterSpec _spec = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server), new()
            {
                ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
                // What is under test is the grain reading an edited row, not the silo's leased copy of the token before it.
                ["Broker:Families:ServedTokenLease"] = "00:00:00",
            }));
        _silo = await _spec.StartSiloAsync();
        await _server.AddRedirectUriAsync("broker", _silo.RedirectUri("test"));
    }

    [Fact]
    public async Task A_scope_edit_in_the_database_is_state_unreadable()
    {
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "scope-edit", "api.read");
        await _silo.Client.GetAccessTokenAsync(Request("scope-edit"));
        var (header, payload) = StoredRows.Split(await ReadRowAsync("scope-edit"));
        var state = Serializer.Deserialize<TokenFamilyState>(new BinaryData(payload))!;
        Assert.False(state.Scopes.IsEmpty);
        await WriteRowAsync("scope-edit", [.. header, .. Serializer.Serialize(state with { Scopes = ScopeSet.Empty }).ToArray()]);

        await AssertUnreadableAndMarked("scope-edit");
    }

    [Fact]
    public async Task A_rolled_back_row_is_state_unreadable()
    {
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "rolled-back", "api.read");
        var older = await ReadRowAsync("rolled-back");
        await _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "rolled-back", ForceRefresh = true });
        Assert.NotEqual(older, await ReadRowAsync("rolled-back"));

        await WriteRowAsync("rolled-back", older); // its tokens still decrypt, and its access token is still valid

        await AssertUnreadableAndMarked("rolled-back");
    }

    [Fact]
    public async Task A_row_of_the_previous_version_is_refused_unless_accepted_and_reencryption_seals_it()
    {
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "previous-version", "api.read");
        var token = (await _silo.Client.GetAccessTokenAsync(Request("previous-version"))).AccessToken_;
        var (_, state) = StoredRows.Split(await ReadRowAsync("previous-version"));
        await WriteRowAsync("previous-version", state); // what the previous version wrote: the state alone

        // Off (the default): refused, not marked: the row is left as it is for the upgrade.
        await _silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await GrpcAssert.FailsWith(StatusCode.DataLoss, "STATE_UNREADABLE", () => _silo.Client.GetAccessTokenAsync(Request("previous-version")).ResponseAsync);
        Assert.Equal(state, await ReadRowAsync("previous-version"));
        await _silo.StopAsync();

        // On, for the upgrade: served, and the re-encryption seals it.
        var accepting = _spec with { Settings = ProviderSettings.Merge(_spec.Settings, new() { ["Broker:Encryption:AcceptUnauthenticatedState"] = "true" }) };
        await using (var upgrading = await accepting.StartSiloAsync())
        {
            TokenAssert.Same(token, (await upgrading.Client.GetAccessTokenAsync(Request("previous-version"))).AccessToken_);
            var grain = upgrading.Grains.GetGrain<Abstractions.Grains.ITokenFamilyGrain>(Key("previous-version"));
            Assert.Equal(Abstractions.Grains.ReencryptionOutcome.Reencrypted, await grain.Reencrypt());
            Assert.Equal(Abstractions.Grains.ReencryptionOutcome.Current, await grain.Reencrypt());
        }
        Assert.True(StoredRows.IsSealed(await ReadRowAsync("previous-version")));

        // Off again: the sealed row is served.
        _silo = await _spec.StartSiloAsync();
        TokenAssert.Same(token, (await _silo.Client.GetAccessTokenAsync(Request("previous-version"))).AccessToken_);
    }

    [Fact]
    public async Task A_new_authorization_replaces_a_row_of_the_previous_version_in_the_same_activation()
    {
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "previous-reauthorized", "api.read");
        await WriteRowAsync("previous-reauthorized", StoredRows.Split(await ReadRowAsync("previous-reauthorized")).Payload);
        await _silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await GrpcAssert.FailsWith(StatusCode.DataLoss, "STATE_UNREADABLE", () => _silo.Client.GetAccessTokenAsync(Request("previous-reauthorized")).ResponseAsync);

        await AuthorizationFlow.AuthorizeAsync(_silo, "test", "previous-reauthorized", "api.read");

        Assert.True(await _server.IsActiveAsync((await _silo.Client.GetAccessTokenAsync(Request("previous-reauthorized"))).AccessToken_));
        Assert.True(StoredRows.IsSealed(await ReadRowAsync("previous-reauthorized")));
    }

    [Fact]
    public async Task An_edited_client_token_row_is_dropped_and_the_token_fetched_again()
    {
        var request = new GetClientTokenRequest { Provider = "test", Scopes = { "api" } };
        var first = await _silo.Client.GetClientTokenAsync(request);
        var (header, payload) = StoredRows.Split(await ReadClientTokenRowAsync());
        var state = Serializer.Deserialize<Broker.Grains.ClientTokens.ClientTokenState>(new BinaryData(payload))!;
        state.ExpiresAt = state.ExpiresAt.AddYears(1); // a token kept past its expiry
        await ExecuteAsync("UPDATE orleansstorage SET payloadbinary = @row WHERE graintypestring = 'client-token'",
            ("row", (byte[])[.. header, .. Serializer.Serialize(state).ToArray()]));
        await _silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var grants = _server.Stats.ClientCredentialsGrants;

        var second = await _silo.Client.GetClientTokenAsync(request);

        Assert.Equal(grants + 1, _server.Stats.ClientCredentialsGrants);
        TokenAssert.Different(first.AccessToken_, second.AccessToken_);
        Assert.True(StoredRows.IsSealed(await ReadClientTokenRowAsync()));
    }

    private async Task<byte[]> ReadClientTokenRowAsync()
    {
        await using var connection = new NpgsqlConnection(_spec.Database);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT payloadbinary FROM orleansstorage WHERE graintypestring = 'client-token'", connection);
        return (byte[])(await read.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(_spec.Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private async Task AssertUnreadableAndMarked(string subject)
    {
        await _silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero); // the next call reads the row
        var requests = _server.Stats.TokenRequests;

        await GrpcAssert.FailsWith(StatusCode.DataLoss, "STATE_UNREADABLE", () => _silo.Client.GetAccessTokenAsync(Request(subject)).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.DataLoss, "STATE_UNREADABLE", () => _silo.Client.GetAccessTokenAsync(Request(subject)).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.DataLoss, "STATE_UNREADABLE",
            () => _silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject, ForceRefresh = true }).ResponseAsync);
        var described = await _silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = subject });
        Assert.Equal("reauthorization_required", described.Status);
        Assert.Equal("state_unreadable", described.StatusReason);
        Assert.Equal(requests, _server.Stats.TokenRequests);

        // The mark is stored: a fresh activation still refuses, and a new authorization repairs the family.
        await _silo.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await GrpcAssert.FailsWith(StatusCode.DataLoss, "STATE_UNREADABLE", () => _silo.Client.GetAccessTokenAsync(Request(subject)).ResponseAsync);
        Assert.Equal(requests, _server.Stats.TokenRequests);
        await AuthorizationFlow.AuthorizeAsync(_silo, "test", subject, "api.read");
        Assert.True(await _server.IsActiveAsync((await _silo.Client.GetAccessTokenAsync(Request(subject))).AccessToken_));
    }

    private static GetAccessTokenRequest Request(string subject) => new() { Provider = "test", Subject = subject };

    private static string Key(string subject) => new FamilyKey(ProviderName.Parse("test"), Subject.Parse(subject)).ToGrainKey();

    private OrleansGrainStorageSerializer Serializer => new(_silo.Services.GetRequiredService<Orleans.Serialization.Serializer>());

    private async Task<byte[]> ReadRowAsync(string subject)
    {
        await using var connection = new NpgsqlConnection(_spec.Database);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT payloadbinary FROM orleansstorage WHERE grainidextensionstring = @key AND graintypestring = 'family'", connection);
        read.Parameters.AddWithValue("key", Key(subject));
        return (byte[])(await read.ExecuteScalarAsync())!;
    }

    /// <summary>What an attacker with the database can do: replace the row's bytes, leaving its version as it is.</summary>
    private async Task WriteRowAsync(string subject, byte[] row)
    {
        await using var connection = new NpgsqlConnection(_spec.Database);
        await connection.OpenAsync();
        await using var write = new NpgsqlCommand("UPDATE orleansstorage SET payloadbinary = @row WHERE grainidextensionstring = @key AND graintypestring = 'family'", connection);
        write.Parameters.AddWithValue("row", row);
        write.Parameters.AddWithValue("key", Key(subject));
        Assert.Equal(1, await write.ExecuteNonQueryAsync());
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }
}
