using Broker.Testing;
using Broker.Testing.DpopServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Dpop;

/// <summary>CreateProof is rate limited per caller (Broker:Dpop): one caller past its burst is THROTTLED, another is not.</summary>
public sealed class DpopProofRateTests : IAsyncLifetime
{
    private static readonly string OtherKey = Broker.Silo.Callers.ApiKeyHash.NewKey();
    private DpopAuthorizationServer _server = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _server = await DpopAuthorizationServer.StartAsync();
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Settings = ProviderSettings.Merge(DpopBrokerTests.SettingsFor(_server),
                TestCallers.WithApiKey("other", OtherKey, new Dictionary<string, string> { ["Providers:0"] = "*", ["Subjects:0"] = "*", ["Scopes:0"] = "*" }),
                new() { ["Broker:Dpop:ProofBurstPerCaller"] = "3", ["Broker:Dpop:ProofsPerSecondPerCaller"] = "1" }),
        });
    }

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_caller_past_its_burst_is_throttled_and_another_caller_is_not()
    {
        var request = new CreateProofRequest { Provider = "dpop", Subject = "nobody", HttpMethod = "GET", Url = "https://api.example/" };
        var reasons = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => _silo.Client.CreateProofAsync(request).ResponseAsync);
            reasons.Add($"{ex.StatusCode}/{ex.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason}");
        }
        // The burst is spent by the first three (each an honest INVALID_STATE: no bound token); then the caller waits.
        Assert.All(reasons.Take(3), r => Assert.Equal("FailedPrecondition/INVALID_STATE", r));
        Assert.Contains("ResourceExhausted/THROTTLED", reasons);

        var other = new TokenBroker.TokenBrokerClient(_silo.Channel.WithBearer(OtherKey));
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "INVALID_STATE", () => other.CreateProofAsync(request).ResponseAsync);
    }
}
