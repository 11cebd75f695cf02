using Broker.Testing;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Google.Rpc;
using Grpc.Core;
using Xunit;

namespace Broker.Silo.Tests.Callers;

/// <summary>
/// Provider "test" may send a burst of 6 token requests (then one a minute) for the whole cluster; provider "keys" lets
/// each caller create at most 2 client-token keys. Callers: "hammer" (any scope, any resource) and "steady".
/// </summary>
public sealed class SharedBudgetBroker : EmbeddedBroker
{
    public static readonly string HammerKey = Broker.Silo.Callers.ApiKeyHash.NewKey();
    public static readonly string SteadyKey = Broker.Silo.Callers.ApiKeyHash.NewKey();

    protected override Dictionary<string, string?> ExtraSettings => ProviderSettings.Merge(
        ProviderSettings.For("keys", Server),
        new()
        {
            ["Broker:Providers:test:TokenRequestBurst"] = "6",
            ["Broker:Providers:test:TokenRequestsPerMinute"] = "1",
            ["Broker:Providers:keys:MaxClientTokenKeysPerCaller"] = "2",
        },
        TestCallers.WithApiKey("hammer", HammerKey, new Dictionary<string, string>
        {
            ["Providers:0"] = "*", ["Scopes:0"] = "*", ["Resources:0"] = "*", ["MayGetClientTokens"] = "true",
        }),
        TestCallers.WithApiKey("steady", SteadyKey, new Dictionary<string, string>
        {
            ["Providers:0"] = "*", ["Subjects:0"] = "*", ["Scopes:0"] = "*", ["Resources:0"] = "*", ["MayGetClientTokens"] = "true",
        }));

    public TokenBroker.TokenBrokerClient Hammer => new(Silo.Channel.WithBearer(HammerKey));
    public TokenBroker.TokenBrokerClient Steady => new(Silo.Channel.WithBearer(SteadyKey));
}

public sealed class CallerShareTests(SharedBudgetBroker broker) : IClassFixture<SharedBudgetBroker>
{
    [Fact]
    public async Task One_caller_hammering_with_unique_resources_leaves_the_others_refresh_its_share()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "steady-user", "api.read");

        var details = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            try
            {
                await broker.Hammer.GetClientTokenAsync(new GetClientTokenRequest
                {
                    Provider = "test", Scopes = { "api.read" }, Resource = $"https://hammer.example/{i}",
                });
                details.Add("ok");
            }
            catch (RpcException ex)
            {
                var info = ex.GetRpcStatus()?.GetDetail<ErrorInfo>();
                details.Add($"{info?.Reason}/{(info?.Metadata.TryGetValue("detail", out var d) == true ? d : "-")}");
            }
        }

        // The budget keeps room for everyone else; the hammer is held back by its own share, typed as such.
        var refreshed = await broker.Steady.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "steady-user", ForceRefresh = true });
        Assert.Equal("refresh", refreshed.Source);
        Assert.Contains("THROTTLED/caller_budget", details);
    }

    [Fact]
    public async Task A_caller_may_create_only_so_many_client_token_keys_and_the_others_still_get_theirs()
    {
        var one = await broker.Hammer.GetClientTokenAsync(new GetClientTokenRequest { Provider = "keys", Scopes = { "api.read" }, Resource = "https://api.example/one" });
        await broker.Hammer.GetClientTokenAsync(new GetClientTokenRequest { Provider = "keys", Scopes = { "api.read" }, Resource = "https://api.example/two" });
        var sent = broker.Server.Stats.ClientCredentialsGrants;

        var refused = await GrpcAssert.FailsWith(StatusCode.ResourceExhausted, "THROTTLED", () => broker.Hammer.GetClientTokenAsync(
            new GetClientTokenRequest { Provider = "keys", Scopes = { "api.write" }, Resource = "https://api.example/one" }).ResponseAsync);
        Assert.Equal("client_token_keys", refused.GetDetail<ErrorInfo>()!.Metadata["detail"]);
        Assert.Equal(sent, broker.Server.Stats.ClientCredentialsGrants);

        // Its keys still serve, and another caller's new key is its own.
        var again = await broker.Hammer.GetClientTokenAsync(new GetClientTokenRequest { Provider = "keys", Scopes = { "api.read" }, Resource = "https://api.example/one" });
        Assert.Equal(one.AccessToken_, again.AccessToken_);
        var steady = await broker.Steady.GetClientTokenAsync(new GetClientTokenRequest { Provider = "keys", Scopes = { "api.write" }, Resource = "https://api.example/one" });
        Assert.True(await broker.Server.IsActiveAsync(steady.AccessToken_));
    }
}
