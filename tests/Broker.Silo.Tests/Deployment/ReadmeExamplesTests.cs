using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Silo.Tests.Cluster;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.Testing.Processes;
using Xunit.Abstractions;

namespace Broker.Silo.Tests.Deployment;

/// <summary>
/// The README's quick start and API examples, run as written (<see cref="ReadmeExamples"/>) against the OpenIddict
/// test authorization server in the role of "your OpenID Connect server": a README edit that breaks an example
/// fails here. The test plays only what the README leaves to the reader: registering the redirect URI at the
/// server, and the browser's login.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ReadmeExamplesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly HttpClient Browser = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
    private TestAuthorizationServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Dictionary<string, string?> ReaderEnvironment() => new()
    {
        ["ISSUER"] = _server.Issuer.AbsoluteUri,
        ["CLIENT_ID"] = "broker",
        ["CLIENT_SECRET"] = "broker-test-secret",
    };

    /// <summary>The examples the tests below run, in the README's order.</summary>
    private static readonly string[] Run =
    [
        "start", "begin", "token", "describe", "force-refresh", "revoke", "client-token", "new-api-key", "grpc-sample",
        "json-with-api-key", "local-cluster-start", "broker-ops", "local-cluster-stop",
    ];

    [Fact]
    public void Every_example_the_readme_marks_is_run_here()
    {
        Assert.Equal(Run, ReadmeExamples.Load().Keys);
    }

    [Fact]
    public async Task Quick_start_gets_a_token_describes_refreshes_and_revokes_it_as_written()
    {
        var watch = Stopwatch.StartNew();
        var (grpc, http) = (FreePort.Next(), FreePort.Next());
        var environment = ReaderEnvironment();
        environment["Broker:Http:GrpcPort"] = grpc.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["Broker:Http:HttpPort"] = http.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["BROKER_API_KEY"] = "bk_unused-while-no-caller-is-configured";
        var readme = new ReadmeExamples(environment, (grpc, http));
        await _server.AddRedirectUriAsync("broker", new Uri($"http://127.0.0.1:{http}/oauth2/callback/demo"));

        using var broker = readme.Start("start");
        await WaitReadyAsync(broker, http);
        output.WriteLine($"broker ready after {watch.Elapsed.TotalSeconds:F0} s");

        var begun = Json(await readme.RunAsync("begin"));
        var completed = await CompleteLoginAsync(begun.GetProperty("authorizationUrl").GetString()!, http);
        Assert.Contains("Authorization complete", completed, StringComparison.Ordinal);

        var token = Json(await readme.RunAsync("token"));
        var accessToken = token.GetProperty("accessToken").GetString()!;
        Assert.True(await _server.IsActiveAsync(accessToken));
        output.WriteLine($"first token after {watch.Elapsed.TotalSeconds:F0} s");

        var described = Json(await readme.RunAsync("describe"));
        Assert.Equal("active", described.GetProperty("status").GetString());
        Assert.True(described.GetProperty("hasRefreshToken").GetBoolean());

        var refreshed = Json(await readme.RunAsync("force-refresh"));
        Assert.Equal("refresh", refreshed.GetProperty("source").GetString());
        Assert.NotEqual(accessToken, refreshed.GetProperty("accessToken").GetString());

        var sample = await readme.RunAsync("grpc-sample");
        Assert.True(sample.ExitCode == 0, sample.Output + sample.Errors);
        Assert.Contains(_server.Issuer.AbsoluteUri, sample.Output, StringComparison.Ordinal);

        var withKey = await readme.RunAsync("json-with-api-key");
        Assert.True(withKey.ExitCode == 0, withKey.Errors);
        var answers = JsonValues(withKey.Output); // curl prints the three answers back to back
        Assert.Equal(3, answers.Count);
        Assert.StartsWith(_server.Issuer.AbsoluteUri, answers[0].GetProperty("authorizationUrl").GetString(), StringComparison.Ordinal);
        Assert.True(await _server.IsActiveAsync(answers[1].GetProperty("accessToken").GetString()!));
        Assert.Equal("active", answers[2].GetProperty("status").GetString());

        var clientToken = Json(await readme.RunAsync("client-token"));
        Assert.True(await _server.IsActiveAsync(clientToken.GetProperty("accessToken").GetString()!));

        var current = refreshed.GetProperty("accessToken").GetString()!;
        Assert.Equal("{}", (await readme.RunAsync("revoke")).Output.Trim());
        Assert.False(await _server.IsActiveAsync(current));
        Assert.Equal("revoked", Json(await readme.RunAsync("describe")).GetProperty("status").GetString());

        var newKey = await readme.RunAsync("new-api-key");
        Assert.True(newKey.ExitCode == 0, newKey.Output + newKey.Errors);
        var key = System.Text.RegularExpressions.Regex.Match(newKey.Output, @"(bk_[A-Za-z0-9_-]{20,})").Groups[1].Value;
        Assert.NotEmpty(key);
        Assert.Contains($"sha256:{Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(key)))}", newKey.Output, StringComparison.Ordinal);

        // Started from the repository's root, the broker still reads its own appsettings.json and says where its
        // settings come from; its log has what an operator needs: the providers' state, no per-request lines.
        var log = broker.Output;
        output.WriteLine(log);
        Assert.Contains("appsettings.json", log, StringComparison.Ordinal);
        Assert.Contains("Provider demo", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Executing endpoint", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Participant check thread", log, StringComparison.Ordinal);
        output.WriteLine($"whole quick start: {watch.Elapsed.TotalSeconds:F0} s");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // the script and its file modes are for Linux
    public async Task Local_cluster_and_broker_ops_run_as_written()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"broker-readme-{Guid.NewGuid():N}");
        var offset = LocalClusterPorts.FreeOffset(2);
        var redisPort = FreePort.Next();
        var environment = ReaderEnvironment();
        environment["BROKER_LOCAL_DIR"] = folder;
        environment["BROKER_LOCAL_PG_PORT"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["BROKER_LOCAL_REDIS_PORT"] = redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["BROKER_LOCAL_PORT_OFFSET"] = offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The provider as the quick start configured it in the reader's shell.
        environment["Broker:Providers:demo:Issuer"] = _server.Issuer.AbsoluteUri;
        environment["Broker:Providers:demo:ClientId"] = "broker";
        environment["Broker:Providers:demo:ClientSecret"] = "broker-test-secret";
        environment["Broker:Providers:demo:Scopes:0"] = "openid";
        environment["Broker:Providers:demo:Scopes:1"] = "offline_access";
        var readme = new ReadmeExamples(environment);
        try
        {
            var started = await readme.RunAsync("local-cluster-start", TimeSpan.FromMinutes(5));
            Assert.True(started.ExitCode == 0, started.Output + started.Errors);
            var settingsFile = Path.Combine(folder, "broker-ops.json");
            Assert.Contains($"broker-ops settings: {settingsFile}", started.Output, StringComparison.Ordinal);

            // Keys and settings are the reader's alone (mode 0600 in a 0700 directory); Redis keeps its data (AOF).
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
            foreach (var secret in new[] { "key", "api-key", "broker-ops.json" })
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, secret)));
            Assert.True(Directory.Exists(Path.Combine(folder, "run", "appendonlydir")) || File.Exists(Path.Combine(folder, "run", "appendonly.aof")));

            var apiKey = File.ReadAllText(Path.Combine(folder, "api-key")).Trim();
            using var silo = new ExternalSilo(5300 + offset, 5380 + offset, apiKey);
            await _server.AddRedirectUriAsync("broker", silo.RedirectUri("demo"));
            await AuthorizationFlow.AuthorizeDirectlyAsync(silo, "demo", "local-alice", "openid");

            var ops = await readme.RunAsync("broker-ops", TimeSpan.FromMinutes(4));
            output.WriteLine(ops.Output + ops.Errors);
            Assert.True(ops.ExitCode == 0, ops.Output + ops.Errors);
            Assert.Equal(2, ops.Output.Split('\n').Count(l => l.Contains(" Active ", StringComparison.Ordinal)));
            Assert.Contains("local-alice", ops.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("next:", ops.Output, StringComparison.Ordinal); // one page: no cursor to follow
            var check = JsonDocument.Parse(ops.Output[ops.Output.IndexOf("[\n", StringComparison.Ordinal)..]).RootElement;
            var demo = Assert.Single(check.EnumerateArray());
            Assert.StartsWith("ok", demo.GetProperty("discovery").GetString(), StringComparison.Ordinal);
            Assert.Equal("closed", demo.GetProperty("circuit_breakers").GetString());

            foreach (var log in Directory.GetFiles(Path.Combine(folder, "run"), "silo-*.log").Select(File.ReadAllText))
            {
                Assert.Contains("Provider demo", log, StringComparison.Ordinal);
                Assert.DoesNotContain("Executing endpoint", log, StringComparison.Ordinal);
                Assert.DoesNotContain("Participant check thread", log, StringComparison.Ordinal);
                Assert.DoesNotContain("info: Polly", log, StringComparison.Ordinal);
            }

            var stopped = await readme.RunAsync("local-cluster-stop");
            Assert.Contains("stopped", stopped.Output, StringComparison.Ordinal);
        }
        finally
        {
            await ProgramRun.RunAsync("bash", [Path.Combine(BuiltAssembly.RepositoryRoot(), "compose", "local-cluster.sh"), "destroy"], environment);
        }
    }

    private static JsonElement Json(ProgramRun.Result run)
    {
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        try
        {
            return JsonDocument.Parse(run.Output).RootElement;
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"not JSON: {run.Output} {run.Errors}");
        }
    }

    private static List<JsonElement> JsonValues(string text)
    {
        var values = new List<JsonElement>();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text), new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read()) values.Add(JsonElement.ParseValue(ref reader));
        return values;
    }

    private static async Task WaitReadyAsync(ReadmeExamples.Background broker, int httpPort)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromMinutes(4))
        {
            if (broker.HasExited) throw new Xunit.Sdk.XunitException($"the broker exited: {broker.Output}");
            try
            {
                using var ready = await Browser.GetAsync($"http://127.0.0.1:{httpPort}/health/ready");
                if (ready.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(250);
        }
        throw new Xunit.Sdk.XunitException($"the broker was not ready within 4 minutes: {broker.Output}");
    }

    /// <summary>The reader's browser: the server's login (the test server approves at once), then its redirect to the broker.</summary>
    private static async Task<string> CompleteLoginAsync(string authorizationUrl, int httpPort)
    {
        using var login = await Browser.GetAsync(authorizationUrl);
        Assert.Equal(HttpStatusCode.Found, login.StatusCode);
        var redirect = login.Headers.Location!;
        Assert.Equal(httpPort, redirect.Port);
        using var callback = await Browser.GetAsync(redirect);
        var page = await callback.Content.ReadAsStringAsync();
        Assert.True(callback.StatusCode == HttpStatusCode.OK, page);
        return page;
    }
}
