using System.Diagnostics;
using System.Text.Json;

namespace Broker.Bench.Soak;

/// <summary>
/// The soak's side of <see cref="AuthorizationServerHost"/>: starts this same program as <c>serve-auth</c> in a process
/// of its own and talks to it one line at a time (commands are serialized: one answer per command).
/// </summary>
public sealed class AuthorizationServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly SemaphoreSlim _line = new(1, 1);

    private AuthorizationServerProcess(Process process, Uri issuer, Uri proxy)
    {
        _process = process;
        Issuer = issuer;
        Proxy = proxy;
    }

    public Uri Issuer { get; }

    /// <summary>The fault proxy in front of the server: what the silos are told to call.</summary>
    public Uri Proxy { get; }

    public Uri Endpoint(string path) => new(Proxy, path);

    public int ProcessId => _process.Id;

    public static async Task<AuthorizationServerProcess> StartAsync(SoakOptions options)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Broker.Bench.dll");
        var host = Environment.ProcessPath ?? "dotnet";
        var viaDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet";
        var start = new ProcessStartInfo(viaDotnet ? host : Path.Combine(AppContext.BaseDirectory, "Broker.Bench"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (viaDotnet) start.ArgumentList.Add(dll);
        foreach (var argument in new[]
        {
            "serve-auth",
            options.AccessTokenLifetime.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            (options.Duration + TimeSpan.FromHours(1)).TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            options.ReuseLeeway.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("the authorization server process did not start.");
        using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var line = await process.StandardOutput.ReadLineAsync(ready.Token);
        if (line?.Split(' ') is not ["ready", var issuer, var proxy])
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"the authorization server process answered '{line}' instead of ready.");
        }
        return new AuthorizationServerProcess(process, new Uri(issuer), new Uri(proxy));
    }

    public async Task<AuthorizationServerFigures> StatsAsync() =>
        JsonSerializer.Deserialize<AuthorizationServerFigures>(await SendAsync("stats"))
        ?? throw new InvalidOperationException("the authorization server process sent no figures.");

    public Task AddRedirectUriAsync(Uri uri) => ExpectOkAsync($"redirect {uri.AbsoluteUri}");

    /// <summary>The proxy stops listening: connections are refused, the server and its grants stay.</summary>
    public Task DownAsync() => ExpectOkAsync("down");

    /// <summary>The proxy listens again on the same port.</summary>
    public Task UpAsync() => ExpectOkAsync("up");

    private async Task ExpectOkAsync(string command)
    {
        var answer = await SendAsync(command);
        if (answer != "ok") throw new InvalidOperationException($"the authorization server process answered '{answer}' to '{command}'.");
    }

    private async Task<string> SendAsync(string command)
    {
        await _line.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await _process.StandardOutput.ReadLineAsync()
                ?? throw new InvalidOperationException($"the authorization server process exited (code {(_process.HasExited ? _process.ExitCode : -1)}).");
        }
        finally
        {
            _line.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // Closing stdin ends it; a process that does not end in time is killed.
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
        _line.Dispose();
    }
}
