using System.Diagnostics;
using System.Net.Sockets;

namespace Broker.Testing.Processes;

/// <summary>A real Redis for tests: BROKER_TEST_REDIS ("host:port"), or a redis-server process on a free loopback port.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process? _process;
    private readonly string? _directory;

    private RedisServer(string configuration, Process? process, string? directory)
    {
        Configuration = configuration;
        _process = process;
        _directory = directory;
    }

    /// <summary>StackExchange.Redis configuration string.</summary>
    public string Configuration { get; }

    public static async Task<RedisServer> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("BROKER_TEST_REDIS") is { Length: > 0 } given)
            return new RedisServer(given, null, null);

        var port = FreePort.Next();
        var directory = Path.Combine(Path.GetTempPath(), $"broker-redis-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var info = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("redis-server not found: apt-get install redis-server, or give one in BROKER_TEST_REDIS.");
        }
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }
        return new RedisServer($"127.0.0.1:{port}", process, directory);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
