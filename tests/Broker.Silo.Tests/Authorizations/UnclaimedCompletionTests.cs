using System.Net;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Authorizations;

/// <summary>Completions that live one second, so the real timer and reminder discard them within the test.</summary>
public sealed class ShortCompletionBroker : HandshakeBroker
{
    protected override Dictionary<string, string?> ExtraSettings => ProviderSettings.Merge(base.ExtraSettings,
        new() { ["Broker:Authorizations:CompletionLifetime"] = "00:00:01" });
}

/// <summary>
/// The outer ring of the completion's lifetime (its rule is tested under the fake clock in the grain tests): an
/// authorization nobody claims is discarded and its grant revoked at the real server.
/// </summary>
public sealed class UnclaimedCompletionTests(ShortCompletionBroker broker) : IClassFixture<ShortCompletionBroker>
{
    [Fact]
    public async Task An_unclaimed_completion_is_revoked_at_the_server()
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", "unclaimed", ["openid", "api.read"],
            AuthorizationFlow.LoginAs("unclaimed-user"), HandshakeBroker.AppReturnUrl, broker.App);
        using var callback = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);
        Assert.Equal(HttpStatusCode.SeeOther, callback.StatusCode);
        var completion = AuthorizationFlow.CompletionOf(callback)!;

        // One refresh token was issued to the user, and the broker revokes it once nobody claimed it.
        await Eventually.WaitUntilAsync(async () => (await broker.Server.RefreshTokenStatusesOfAsync("unclaimed-user")) is ["revoked"],
            "the unclaimed grant to be revoked at the server");

        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "INVALID_STATE", () => broker.App.CompleteAuthorizationAsync(
            new CompleteAuthorizationRequest { Provider = "test", Subject = "unclaimed", Completion = completion }).ResponseAsync);
        var family = await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "unclaimed" });
        Assert.Equal("none", family.Status);
    }
}
