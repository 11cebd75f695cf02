using System.Net;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Authorizations;

/// <summary>A broker with a service, "app", that registered a return URL and may not complete directly.</summary>
public class HandshakeBroker : EmbeddedBroker
{
    public static readonly string AppKey = Broker.Silo.Callers.ApiKeyHash.NewKey();
    public static readonly Uri AppReturnUrl = new("https://app.example/oauth/done");

    protected override Dictionary<string, string?> ExtraSettings => TestCallers.WithApiKey("app", AppKey, new Dictionary<string, string>
    {
        ["Providers:0"] = "*",
        ["Subjects:0"] = "*",
        ["Scopes:0"] = "*",
        ["MayBeginAuthorization"] = "true",
        ["ReturnUrls:0"] = AppReturnUrl.AbsoluteUri,
    });

    public TokenBroker.TokenBrokerClient App => new(Silo.Channel.WithBearer(AppKey));
}

/// <summary>
/// RFC 9700 §4.7 / RFC 6749 §10.12: an authorization completes only for the user who started it. The callback holds
/// the tokens until the service that began the flow claims them for its signed-in user.
/// </summary>
public sealed class CompletionHandshakeTests(HandshakeBroker broker) : IClassFixture<HandshakeBroker>
{
    private static readonly string[] Scopes = ["openid", "api.read"];

    /// <summary>The service "app" begins for <paramref name="subject"/>; <paramref name="login"/> logs in at the provider.</summary>
    private async Task<string> RedeemedAs(string subject, string login)
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(broker.Silo, "test", subject, Scopes,
            AuthorizationFlow.LoginAs(login), HandshakeBroker.AppReturnUrl, broker.App);
        using var callback = await AuthorizationFlow.DeliverAsync(broker.Silo, redirect);
        Assert.Equal(HttpStatusCode.SeeOther, callback.StatusCode);
        Assert.Equal(HandshakeBroker.AppReturnUrl.GetLeftPart(UriPartial.Path), callback.Headers.Location!.GetLeftPart(UriPartial.Path));
        return AuthorizationFlow.CompletionOf(callback)!;
    }

    private Task<CompleteAuthorizationResponse> Claim(string subject, string completion) => broker.App.CompleteAuthorizationAsync(
        new CompleteAuthorizationRequest { Provider = "test", Subject = subject, Completion = completion }).ResponseAsync;

    private async Task AssertHoldsNothing(string subject) =>
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "AUTHORIZATION_REQUIRED",
            () => broker.App.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = subject }).ResponseAsync);

    [Fact]
    public async Task The_family_holds_the_tokens_only_once_the_service_completes_the_authorization()
    {
        var completion = await RedeemedAs("hs-alice", login: "hs-alice");
        await AssertHoldsNothing("hs-alice");

        var completed = await Claim("hs-alice", completion);

        Assert.True(completed.HasRefreshToken);
        var token = await broker.App.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "hs-alice" });
        Assert.True(await broker.Server.IsActiveAsync(token.AccessToken_));
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "INVALID_STATE", () => Claim("hs-alice", completion));
    }

    [Fact]
    public async Task A_url_completed_by_another_user_leaves_the_subject_without_tokens_and_revokes_that_grant()
    {
        // The victim's authorization URL reaches someone else, who logs in as themselves: the service, in whose session
        // the browser now is, claims for its own signed-in user. Before the handshake the callback gave the victim's
        // family the other account's tokens.
        var completion = await RedeemedAs("hs-victim", login: "hs-mallory");
        Assert.Equal(1, await broker.Server.ValidRefreshTokensOfAsync("hs-mallory"));

        await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED", () => Claim("hs-mallory", completion));

        await AssertHoldsNothing("hs-victim");
        await AssertHoldsNothing("hs-mallory");
        Assert.Equal(0, await broker.Server.ValidRefreshTokensOfAsync("hs-mallory"));
        // Discarded: not even the subject it was begun for can claim it now.
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "INVALID_STATE", () => Claim("hs-victim", completion));
        await AssertHoldsNothing("hs-victim");
    }

    [Fact]
    public async Task Begin_needs_a_registered_return_url_unless_the_policy_allows_direct_completion()
    {
        BeginAuthorizationRequest Begin(string returnUrl) => new() { Provider = "test", Subject = "hs-begin", Scopes = { "api.read" }, ReturnUrl = returnUrl };

        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT", () => broker.App.BeginAuthorizationAsync(Begin("")).ResponseAsync);
        foreach (var other in new[] { "https://app.example/oauth/done/x", "https://app.example:8443/oauth/done", "http://app.example/oauth/done",
                     "https://evil.example/oauth/done", "https://app.example/oauth/done#frag", "https://user@app.example/oauth/done" })
        {
            await GrpcAssert.FailsWith(StatusCode.PermissionDenied, "PERMISSION_DENIED", () => broker.App.BeginAuthorizationAsync(Begin(other)).ResponseAsync);
        }
        // A query of the service's own is kept.
        var begun = await broker.App.BeginAuthorizationAsync(Begin(HandshakeBroker.AppReturnUrl.AbsoluteUri + "?tab=2"));
        Assert.NotEmpty(begun.AuthorizationUrl);
    }

    [Fact]
    public async Task A_malformed_completion_is_refused_before_any_grain_runs()
    {
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, "INVALID_ARGUMENT", () => Claim("hs-any", "not-a-completion"));
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "INVALID_STATE", () => Claim("hs-any", new string('A', 43)));
    }
}
