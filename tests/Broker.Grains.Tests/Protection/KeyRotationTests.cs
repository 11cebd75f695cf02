using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Broker.V1;
using Xunit;

namespace Broker.Grains.Tests.Protection;

/// <summary>
/// Key rotation on the real PostgreSQL, run the way the README tells operators to: deploy a new primary key
/// beside the old one, run <c>broker-ops keys reencrypt</c>, then remove the old key. Every family and the
/// client token keep working, and the next refresh of each is accepted by the server.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class KeyRotationTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private const int Families = 5;
    private TestAuthorizationServer _server = null!;
    private ClusterSpec _spec = null!;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server),
            new() { ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00" }));
    }

    [Fact]
    public async Task Rotation_and_reencryption_keep_every_family_working()
    {
        var newKey = BrokerSiloSettings.NewEncryptionKey();
        var tokens = new Dictionary<string, string>();
        await using (var old = await _spec.StartSiloAsync())
        {
            await _server.AddRedirectUriAsync("broker", old.RedirectUri("test"));
            for (var i = 0; i < Families; i++)
            {
                await AuthorizationFlow.AuthorizeAsync(old, "test", $"user-{i}", "api.read");
                tokens[$"user-{i}"] = (await old.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = $"user-{i}" })).AccessToken_;
            }
            await old.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api" } });
        }

        // Step 1: the new key is primary, the old one still decrypts.
        var both = _spec with
        {
            Settings = ProviderSettings.Merge(_spec.Settings, new()
            {
                ["Broker:Encryption:Keys:1:Id"] = "k2",
                ["Broker:Encryption:Keys:1:Key"] = newKey,
                ["Broker:Encryption:PrimaryKeyId"] = "k2",
            }),
        };
        await using (var rotating = await both.StartSiloAsync())
        {
            var first = await OpsTool.RunAsync(_spec.ProcessSettings(), "keys", "reencrypt", "--json");
            Assert.True(first.ExitCode == 0, first.Errors);
            Assert.Equal(Families, Count(first, "family", "reencrypted"));
            Assert.Equal(1, Count(first, "client-token", "reencrypted"));
            Assert.Contains($"family: {Families}/{Families}", first.Errors, StringComparison.Ordinal); // progress

            var second = await OpsTool.RunAsync(_spec.ProcessSettings(), "keys", "reencrypt", "--json");
            Assert.Equal(0, second.ExitCode);
            Assert.Equal(Families, Count(second, "family", "current"));
            Assert.Equal(0, Count(second, "family", "reencrypted"));
        }

        // Step 2: the old key is retired. Everything stored must now be under the new one.
        var grantsBefore = _server.Stats.ClientCredentialsGrants;
        var onlyNew = _spec with
        {
            Settings = ProviderSettings.Merge(_spec.Settings, new()
            {
                ["Broker:Encryption:Keys:0:Id"] = "k2",
                ["Broker:Encryption:Keys:0:Key"] = newKey,
            }),
        };
        await using var silo = await onlyNew.StartSiloAsync();
        foreach (var (subject, token) in tokens)
        {
            var served = await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject });
            TokenAssert.Same(token, served.AccessToken_);
            var refreshed = await silo.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject, ForceRefresh = true });
            Assert.Equal("refresh", refreshed.Source);
        }
        await silo.Client.GetClientTokenAsync(new GetClientTokenRequest { Provider = "test", Scopes = { "api" } });
        Assert.Equal(grantsBefore, _server.Stats.ClientCredentialsGrants); // served from the re-encrypted cache
        Assert.Equal(0, _server.Stats.RefreshTokenRejections);

        var list = await OpsTool.RunAsync(_spec.ProcessSettings(), "families", "list", "--json");
        Assert.Equal(0, list.ExitCode);
        var rows = list.Json.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(Families, rows.Count);
        Assert.All(rows, r => Assert.Equal("active", r.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_silo_without_the_key_refuses_but_does_not_mark_the_family()
    {
        string token;
        await using (var withKey = await _spec.StartSiloAsync())
        {
            await _server.AddRedirectUriAsync("broker", withKey.RedirectUri("test"));
            await AuthorizationFlow.AuthorizeAsync(withKey, "test", "rolling", "api.read");
            token = (await withKey.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "rolling" })).AccessToken_;
        }

        // Mid-roll: this silo does not hold the key the family is sealed under.
        var other = _spec with
        {
            Settings = ProviderSettings.Merge(_spec.Settings, new()
            {
                ["Broker:Encryption:Keys:0:Id"] = "other",
                ["Broker:Encryption:Keys:0:Key"] = BrokerSiloSettings.NewEncryptionKey(),
            }),
        };
        await using (var lacking = await other.StartSiloAsync())
        {
            var refused = await GrpcAssert.FailsWith(Grpc.Core.StatusCode.DataLoss, "STATE_UNREADABLE",
                () => lacking.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "rolling" }).ResponseAsync);
            Assert.Equal("key_not_in_ring", refused.GetDetail<Google.Rpc.ErrorInfo>()!.Metadata["detail"]);
            Assert.Equal("active", (await lacking.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "rolling" })).Status);
        }

        await using var again = await _spec.StartSiloAsync();
        TokenAssert.Same(token, (await again.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "rolling" })).AccessToken_);
    }

    private static int Count(ProgramRun.Result result, string state, string outcome) =>
        result.Json.GetProperty("rows").EnumerateArray()
            .Where(r => r.GetProperty("state").GetString() == state && r.GetProperty("outcome").GetString() == outcome)
            .Select(r => r.GetProperty("count").GetInt32())
            .Sum();

    public async Task DisposeAsync() => await _server.DisposeAsync();
}
