using System.Diagnostics;
using System.Net.Sockets;

namespace Broker.Testing.Processes;

/// <summary>A real Redis for tests: BROKER_TEST_REDIS ("host:port"), or a redis-server process on a free loopback port.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string? _directory;
    private readonly bool _appendOnly;
    private Process? _process;

    private RedisServer(string configuration, Process? process, string? directory, bool appendOnly = false)
    {
        Configuration = configuration;
        _process = process;
        _directory = directory;
        _appendOnly = appendOnly;
    }

    /// <summary>StackExchange.Redis configuration string.</summary>
    public string Configuration { get; }

    public static Task<RedisServer> StartAsync() =>
        Environment.GetEnvironmentVariable("BROKER_TEST_REDIS") is { Length: > 0 } given
            ? Task.FromResult(new RedisServer(given, null, null))
            : StartOwnAsync();

    /// <summary>
    /// Always a redis-server process of the caller's own, even when BROKER_TEST_REDIS is set: for tests that stop or freeze it.
    /// <paramref name="appendOnly"/> keeps an append-only file, as every deployment we ship does, so <see cref="RestartAsync"/> keeps the data.
    /// </summary>
    public static async Task<RedisServer> StartOwnAsync(bool appendOnly = false)
    {

        var directory = Path.Combine(Path.GetTempPath(), $"broker-redis-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var (process, output) = Launch(port, directory, appendOnly);
            if (await ListensAsync(process, port)) return new RedisServer($"127.0.0.1:{port}", process, directory, appendOnly);
            // It exited: another process took the port between FreePort and its bind, or something else went wrong.
            await process.WaitForExitAsync();
            process.Dispose();
            string said;
            lock (output) said = output.ToString();
            if (attempt < FreePort.Attempts && FreePort.LostRace(said)) continue;
            throw new InvalidOperationException($"redis-server did not start on port {port}: {said}");
        }
    }

    /// <summary>
    /// Stops the server (SIGTERM: it writes its append-only file and exits, as on a redeploy), waits <paramref name="down"/>,
    /// and starts it again on the same port and folder.
    /// </summary>
    public async Task RestartAsync(TimeSpan down)
    {
        if (_process is null || _directory is null) throw new InvalidOperationException("cannot restart a server this fixture did not start.");
        await ExternalProcess.RunAsync("kill", ["-TERM", _process.Id.ToString()]);
        await _process.WaitForExitAsync();
        _process.Dispose();
        await Task.Delay(down);
        var port = int.Parse(Configuration[(Configuration.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var (process, output) = Launch(port, _directory, _appendOnly);
        _process = process;
        if (!await ListensAsync(process, port))
        {
            lock (output) throw new InvalidOperationException($"redis-server did not start again on port {port}: {output}");
        }
    }

    private static (Process Process, System.Text.StringBuilder Output) Launch(int port, string directory, bool appendOnly)
    {
        var info = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", appendOnly ? "yes" : "no", "--dir", directory },
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
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output);
    }

    /// <summary>True once our redis-server answers on the port; false if it exits first; throws after 20 s.</summary>
    private static async Task<bool> ListensAsync(Process process, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!process.HasExited)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"redis-server not listening on {port} within 20 s");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                // Connected, but maybe to whatever won the race for the port: only our redis-server names our pid.
                if (await ServerPidAsync(client) == process.Id) return true;
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
            }
            await Task.Delay(50);
        }
        return false;
    }

    private static async Task<int?> ServerPidAsync(TcpClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var stream = client.GetStream();
        await stream.WriteAsync("INFO server\r\n"u8.ToArray(), timeout.Token);
        var buffer = new byte[16 * 1024];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token);
            if (n == 0) break;
            read += n;
            var text = System.Text.Encoding.ASCII.GetString(buffer, 0, read);
            var at = text.IndexOf("process_id:", StringComparison.Ordinal);
            var end = at < 0 ? -1 : text.IndexOf('\r', at);
            if (end > 0) return int.Parse(text.AsSpan(at + "process_id:".Length, end - at - "process_id:".Length), System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
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
