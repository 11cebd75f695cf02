using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;
using CsCheck;
using Grpc.Core;

namespace Broker.Silo.Tests.Security;

/// <summary>
/// Thousands of generated malformed requests at the gRPC API and the callback: every answer is the refusal the
/// README names for the first malformed field (never INTERNAL, UNKNOWN or a 5xx, never a grain's
/// FAILED_PRECONDITION), no grain is activated by a refused gRPC call, the silo stays up, and nothing stored changes.
/// </summary>
public sealed partial class HostileInputTests(EmbeddedBroker broker) : IClassFixture<EmbeddedBroker>
{
    private const int Iterations = 2_500; // × 4 request kinds = 10,000 requests
    private static readonly string[] Configured = ["test", "other"];

    // Mostly malformed, sometimes almost right: control characters, quotes, Unicode, separators, great lengths.
    private static readonly Gen<string> Hostile = Gen.OneOf(
        Gen.String[Gen.Char, 0, 40],
        Gen.String[Gen.Char[(char)0, (char)127], 0, 300],
        Gen.Const("").Select(_ => new string('a', 70)),
        Gen.Const("").Select(_ => new string('x', 5000)),
        Gen.OneOf("", " ", "test ", "TEST", "te/st", "../test", "test\n", "a b", "ü", "\"", "\\", "%2F", "test\0"));

    private static readonly Gen<string> Provider = Gen.Frequency((3, Hostile), (1, Gen.OneOf("test", "other", "nope")));
    private static readonly Gen<string> Subject = Gen.Frequency((3, Hostile), (1, Gen.OneOf("fuzz-victim", "x")));

    // The README's rules, written here independently of the product's parsers. \z, not $: "test\n" is malformed.
    [GeneratedRegex(@"\A[a-z0-9][a-z0-9_-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ProviderSyntax();

    private static bool IsSubject(string subject) => subject.Length is >= 1 and <= 256 && subject.All(c => c is >= '!' and <= '~');

    /// <summary>FamilyOf checks the provider's syntax, then that it is configured, then the subject.</summary>
    private static (StatusCode Code, string Reason) ExpectedFor(string provider, string subject)
    {
        if (!ProviderSyntax().IsMatch(provider)) return (StatusCode.InvalidArgument, "INVALID_ARGUMENT");
        if (!Configured.Contains(provider)) return (StatusCode.NotFound, "UNKNOWN_PROVIDER");
        Assert.False(IsSubject(subject), "the generator must never produce a well-formed pair for a configured provider");
        return (StatusCode.InvalidArgument, "INVALID_ARGUMENT");
    }

    private async Task<FamilyDescription> Victim() =>
        await broker.Silo.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "fuzz-victim" });

    [Fact]
    public async Task Generated_malformed_requests_get_the_exact_refusal_activate_no_grain_and_change_nothing()
    {
        await AuthorizationFlow.AuthorizeAsync(broker.Silo, "test", "fuzz-victim", "api.read");
        var before = await Victim();
        var grants = (broker.Server.Stats.AuthorizationCodeGrants, broker.Server.Stats.RefreshTokenGrants);
        var activations = await GrainActivations.CountAsync(broker.Silo.Grains);
        var client = broker.Silo.Client;
        var seen = new ConcurrentDictionary<StatusCode, int>();

        await Gen.Select(Provider, Subject, Hostile.Array[0, 5]).SampleAsync(async t =>
        {
            var (provider, subject, scopes) = t;
            // With a configured provider the subject is always made malformed: a well-formed pair is a legitimate call.
            if (Configured.Contains(provider)) subject += "\u0001";
            var (code, reason) = ExpectedFor(provider, subject);
            seen.AddOrUpdate(code, 1, (_, n) => n + 1);
            await GrpcAssert.FailsWith(code, reason, () => client.GetAccessTokenAsync(
                new GetAccessTokenRequest { Provider = provider, Subject = subject, ForceRefresh = true }).ResponseAsync);
            await GrpcAssert.FailsWith(code, reason, () => client.ImportTokensAsync(
                new ImportTokensRequest { Provider = provider, Subject = subject, AccessToken = subject, RefreshToken = provider }).ResponseAsync);
            await GrpcAssert.FailsWith(code, reason, () => client.RevokeFamilyAsync(
                new RevokeFamilyRequest { Provider = provider, Subject = subject }).ResponseAsync);
            var begin = new BeginAuthorizationRequest { Provider = provider, Subject = subject };
            begin.Scopes.AddRange(scopes.Select(s => s + "\"")); // never a valid scope token
            await GrpcAssert.FailsWith(code, reason, () => client.BeginAuthorizationAsync(begin).ResponseAsync);
        }, iter: Iterations, threads: 4);

        // Both refusals were exercised, and not one call reached (so activated) a grain.
        Assert.True(seen.GetValueOrDefault(StatusCode.InvalidArgument) > 100 && seen.GetValueOrDefault(StatusCode.NotFound) > 100,
            $"refusals seen: {string.Join(", ", seen.Select(s => $"{s.Key}={s.Value}"))}");
        var activationsAfter = await GrainActivations.CountAsync(broker.Silo.Grains);
        Assert.True(activations.OrderBy(a => a.Key).SequenceEqual(activationsAfter.OrderBy(a => a.Key)),
            $"activations before: {GrainActivations.Describe(activations)}; after: {GrainActivations.Describe(activationsAfter)}");
        Assert.Equal(before, await Victim());
        Assert.Equal(grants, (broker.Server.Stats.AuthorizationCodeGrants, broker.Server.Stats.RefreshTokenGrants));
    }

    private static readonly string[] SingleValued = ["code", "state", "iss", "error", "error_description", "error_uri"];
    private const int MaxParameterLength = 4096;
    private const int KestrelMaxRequestLine = 8 * 1024;

    /// <summary>The README's callback rules: a repeated or oversized parameter first, then a missing or unknown state.</summary>
    private static string ExpectedCallbackReason(IReadOnlyList<(string Name, string Value)> parameters)
    {
        foreach (var name in SingleValued)
        {
            var values = parameters.Where(p => p.Name == name).Select(p => p.Value).ToList();
            if (values.Count > 1 || values.Any(v => v.Length > MaxParameterLength)) return "INVALID_AUTHORIZATION_RESPONSE";
        }
        return "INVALID_STATE"; // no state, an empty one, or one the broker never issued
    }

    [Fact]
    public async Task Generated_malformed_callbacks_get_400_with_the_expected_reason_or_404_and_change_nothing()
    {
        var grants = broker.Server.Stats.AuthorizationCodeGrants;
        var activations = await GrainActivations.CountAsync(broker.Silo.Grains);
        var parameter = Gen.OneOf("code", "state", "iss", "error", "error_description", "x");
        var reachingStates = new ConcurrentDictionary<string, bool>();
        var badRequests = 0;

        await Gen.Select(Gen.Frequency((1, Hostile), (2, Gen.OneOf("test", "other"))), Gen.Select(parameter, Hostile).Array[0, 6]).SampleAsync(async t =>
        {
            var (provider, parameters) = t;
            var query = string.Join("&", parameters.Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2)}"));
            var target = $"/oauth2/callback/{Uri.EscapeDataString(provider)}?{query}";
            using var response = await broker.Silo.Http.GetAsync(target);
            var page = await response.Content.ReadAsStringAsync();
            if ($"GET {target} HTTP/1.1\r\n".Length > KestrelMaxRequestLine)
            {
                // Kestrel refuses a request line over its limit before any endpoint runs.
                Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
                Assert.Equal("", page);
                return;
            }
            if (provider.Contains('\0'))
            {
                // Kestrel refuses a path that decodes to a NUL before any endpoint runs: 400, empty.
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Equal("", page);
                return;
            }
            if (!Configured.Contains(provider))
            {
                // Unknown provider (or a path that no longer routes to the callback): 404, and nothing from the request.
                Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"callback answered {(int)response.StatusCode} for an unknown provider");
                Assert.True(page.Length == 0 || page == RefusalPage("UNKNOWN_PROVIDER"), "a 404 with another page");
                return;
            }
            var list = parameters.Select(p => (p.Item1, p.Item2)).ToList();
            var reason = ExpectedCallbackReason(list);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"callback answered {(int)response.StatusCode}, expected 400 {reason}");
            Assert.Equal(RefusalPage(reason), page);
            Interlocked.Increment(ref badRequests);
            if (reason == "INVALID_STATE" && list.SingleOrDefault(p => p.Item1 == "state").Item2 is { Length: > 0 } state) reachingStates[state] = true;
        }, iter: 2_000, threads: 4);

        Assert.True(badRequests > 500, $"only {badRequests} callbacks reached a configured provider");
        Assert.Equal(grants, broker.Server.Stats.AuthorizationCodeGrants);
        // Only a well-formed response with a state is looked up (one pending-authorization grain per state); no other
        // broker grain runs. (Orleans' in-memory storage grains may start to serve those lookups.)
        var after = await GrainActivations.CountAsync(broker.Silo.Grains);
        foreach (var (type, count) in after.Where(a => a.Key.StartsWith("Broker.", StringComparison.Ordinal)))
        {
            var grown = count - activations.GetValueOrDefault(type);
            var allowed = type.Contains("PendingAuthorization", StringComparison.Ordinal) ? reachingStates.Count : 0;
            Assert.True(grown <= allowed, $"{type} gained {grown} activations (allowed {allowed}); before: {GrainActivations.Describe(activations)}");
        }
        using var health = await broker.Silo.Http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static string RefusalPage(string reason) =>
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization failed</title></head><body><h1>Authorization failed</h1>" +
        $"<p>Reason: {reason}. Return to the application and start again.</p></body></html>";
}
