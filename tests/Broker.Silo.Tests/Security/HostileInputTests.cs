using System.Net;
using Broker.Testing.Hosting;
using Broker.V1;
using CsCheck;
using Grpc.Core;

namespace Broker.Silo.Tests.Security;

/// <summary>
/// Thousands of generated malformed requests at the gRPC API and the callback: every answer is a typed
/// refusal (never INTERNAL, UNKNOWN or a 5xx), the silo stays up, and nothing stored changes.
/// </summary>
public sealed class HostileInputTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    private const int Iterations = 2_500; // × 4 request kinds = 10,000 requests

    private static readonly StatusCode[] Refusals = [StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.FailedPrecondition];

    // Mostly malformed, sometimes almost right: control characters, quotes, Unicode, separators, great lengths.
    private static readonly Gen<string> Hostile = Gen.OneOf(
        Gen.String[Gen.Char, 0, 40],
        Gen.String[Gen.Char[(char)0, (char)127], 0, 300],
        Gen.Const("").Select(_ => new string('a', 70)),
        Gen.Const("").Select(_ => new string('x', 5000)),
        Gen.OneOf("", " ", "test ", "TEST", "te/st", "../test", "test\n", "a b", "ü", "\"", "\\", "%2F", "test\0"));

    private static readonly Gen<string> Provider = Gen.Frequency((3, Hostile), (1, Gen.OneOf("test", "nope")));
    private static readonly Gen<string> Subject = Gen.Frequency((3, Hostile), (1, Gen.OneOf("fuzz-victim", "x")));

    private async Task<FamilyDescription> Victim() =>
        await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "fuzz-victim" });

    [Fact]
    public async Task Generated_malformed_requests_get_typed_errors_and_change_nothing()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "fuzz-victim", "api.read");
        var before = await Victim();
        var grants = (broker.Server.Stats.AuthorizationCodeGrants, broker.Server.Stats.RefreshTokenGrants);
        var client = broker.Silo.Client;

        await Gen.Select(Provider, Subject, Hostile.Array[0, 5]).SampleAsync(async t =>
        {
            var (provider, subject, scopes) = t;
            // With the real provider the subject is always made malformed: a well-formed pair is a legitimate call.
            if (provider == "test") subject += "\u0001";
            await Refused(() => client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = provider, Subject = subject, ForceRefresh = true }).ResponseAsync);
            await Refused(() => client.ImportTokensAsync(new ImportTokensRequest { Provider = provider, Subject = subject, AccessToken = subject, RefreshToken = provider }).ResponseAsync);
            await Refused(() => client.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = provider, Subject = subject }).ResponseAsync);
            var begin = new BeginAuthorizationRequest { Provider = provider, Subject = subject };
            begin.Scopes.AddRange(scopes.Select(s => s + "\"")); // never a valid scope token
            await Refused(() => client.BeginAuthorizationAsync(begin).ResponseAsync);
        }, iter: Iterations, threads: 4);

        var after = await Victim();
        Assert.Equal(before, after);
        Assert.Equal(grants, (broker.Server.Stats.AuthorizationCodeGrants, broker.Server.Stats.RefreshTokenGrants));
    }

    [Fact]
    public async Task Generated_malformed_callbacks_get_4xx_and_change_nothing()
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var parameter = Gen.OneOf("code", "state", "iss", "error", "error_description", "x");

        await Gen.Select(Gen.OneOf(Hostile, Gen.OneOf("test", "other")), Gen.Select(parameter, Hostile).Array[0, 6]).SampleAsync(async t =>
        {
            var (provider, parameters) = t;
            var query = string.Join("&", parameters.Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2)}"));
            using var response = await broker.Silo.Http.GetAsync($"/oauth2/callback/{Uri.EscapeDataString(provider)}?{query}");
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"callback answered {(int)response.StatusCode}");
            // The page is one of our own fixed texts (or empty): nothing from the request can be in it.
            var page = await response.Content.ReadAsStringAsync();
            Assert.Matches(RefusalPage, page);
        }, iter: 2_000, threads: 4);

        Assert.Equal(grants, broker.Server.Stats.AuthorizationCodeGrants);
        using var health = await broker.Silo.Http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static readonly System.Text.RegularExpressions.Regex RefusalPage = new(
        "^(|<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization failed</title></head><body><h1>Authorization failed</h1>" +
        "<p>Reason: [A-Z_]+\\. Return to the application and start again\\.</p></body></html>)$");

    private static async Task Refused(Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Contains(ex.StatusCode, Refusals);
    }
}
