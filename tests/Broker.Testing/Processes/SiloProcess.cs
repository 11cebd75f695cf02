using System.Diagnostics;
using System.Net.Sockets;
using Broker.V1;
using Grpc.Net.Client;

namespace Broker.Testing.Processes;

/// <summary>
/// A broker silo as a separate operating-system process, started from the built Broker.Silo.dll: what a
/// test needs when it must kill a silo for real (SIGKILL), which an in-process silo cannot be.
/// </summary>
public sealed class SiloProcess : Hosting.IBrokerEndpoints, IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _log;

    private SiloProcess(Process process, int grpcPort, int httpPort, string log)
    {
        _process = process;
        _log = log;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        Client = new TokenBroker.TokenBrokerClient(Hosting.TestCallers.WithBearer(Channel, Hosting.TestCallers.AdminApiKey));
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/") };
    }

    public HttpClient Http { get; }

    public int GrpcPort { get; }
    public int HttpPort { get; }
    public GrpcChannel Channel { get; }
    public TokenBroker.TokenBrokerClient Client { get; }
    public Uri RedirectUri(string provider) => new($"http://127.0.0.1:{HttpPort}/oauth2/callback/{provider}");
    public bool HasExited => _process.HasExited;

    /// <summary>The silo's operating-system process id (for /proc readings).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Where the silo's standard output and error go.</summary>
    public string LogPath => _log;

    /// <summary>
    /// Starts a silo with these settings (as Broker__... environment variables) and waits until it is ready; a silo
    /// that exits because another process took one of its free ports first is started again on new ones.
    /// </summary>
    public static async Task<SiloProcess> StartAsync(IReadOnlyDictionary<string, string?> settings)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnFreePortsAsync(settings);
            }
            catch (PortTakenException) when (attempt < FreePort.Attempts)
            {
            }
        }
    }


    private static async Task<SiloProcess> StartOnFreePortsAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var grpcPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { SiloAssembly() },
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var all = new Dictionary<string, string?>
        {
            ["Broker:Http:GrpcPort"] = grpcPort.ToString(),
            ["Broker:Http:HttpPort"] = httpPort.ToString(),
            ["Broker:Cluster:SiloPort"] = FreePort.Next().ToString(),
            ["Broker:Cluster:GatewayPort"] = FreePort.Next().ToString(),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        // The given settings win, also over the free ports (a test may pin the gRPC or a cluster port; the HTTP port
        // is the one probed for readiness, so it stays the free one).
        foreach (var (key, value) in settings)
        {
            if (key != "Broker:Http:HttpPort") all[key] = value;
        }
        foreach (var (key, value) in Hosting.TestCallers.AdminSettings) all.TryAdd(key, value);
        foreach (var (key, value) in all)
        {
            if (value is not null) info.Environment[key.Replace(":", "__")] = value;
        }
        var log = Path.Combine(Path.GetTempPath(), $"broker-silo-{grpcPort}.log");
        var process = Process.Start(info)!;
        var writer = new StreamWriter(log) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { lock (writer) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (writer) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync(); // the output is all written
                var message = $"silo exited with {process.ExitCode} during start; see {log}";
                lock (writer) writer.Dispose();
                process.Dispose();
                if (FreePort.LostRace(File.ReadAllText(log))) throw new PortTakenException(message);
                throw new InvalidOperationException(message);
            }
            try
            {
                using var ready = await http.GetAsync($"http://127.0.0.1:{httpPort}/health/ready");
                if (ready.IsSuccessStatusCode) break;
            }
            catch (HttpRequestException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                // Not left running: a silo that started late would still join the cluster, unseen by whoever retries the start.
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                lock (writer) writer.Dispose();
                process.Dispose();
                throw new TimeoutException($"silo not ready within 60 s; see {log}");
            }
            await Task.Delay(200);
        }
        return new SiloProcess(process, grpcPort, httpPort, log);
    }

    /// <summary>SIGTERM, as an orchestrator scaling down sends it: the silo leaves the cluster gracefully.</summary>
    public async Task StopGracefullyAsync(TimeSpan timeout)
    {
        if (_process.HasExited) return;
        await ExternalProcess.RunAsync("kill", ["-TERM", _process.Id.ToString()]);
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    /// <summary>SIGKILL: no shutdown, no handover, no goodbye to the cluster.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        Http.Dispose();
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        // BROKER_TEST_KEEP_SILO_LOGS=1 keeps each silo's output (its path is in the start failure messages) for a diagnosis.
        if (Environment.GetEnvironmentVariable("BROKER_TEST_KEEP_SILO_LOGS") == "1") return;
        try
        {
            File.Delete(_log);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The newest build of the silo in this checkout.</summary>
    private static string SiloAssembly() => BuiltAssembly.Find(Path.Combine("silo", "Broker.Silo"), "Broker.Silo.dll");
}

/// <summary>A server process exited because another process took one of its free ports first.</summary>
public sealed class PortTakenException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
