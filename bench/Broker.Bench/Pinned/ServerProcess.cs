using System.Diagnostics;
using System.Net.Sockets;

namespace Broker.Bench.Pinned;

/// <summary>
/// A server measured from outside: its own process, pinned with <c>taskset</c> to the server cores, its CPU time read
/// from <c>/proc/{pid}/stat</c> (user + system). Output goes to a file, as to a log agent.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, string log)
    {
        _process = process;
        LogFile = log;
    }

    public string LogFile { get; }

    public static async Task<ServerProcess> StartAsync(string name, string cores, string dll, string arguments,
        IReadOnlyDictionary<string, string> environment, int waitForPort, string? workingDirectory = null)
    {
        var log = Path.Combine(Path.GetTempPath(), $"broker-bench-{name}-{Environment.ProcessId}.log");
        // exec all the way down: the shell becomes taskset, which becomes dotnet, so the pid is the server's.
        var start = new ProcessStartInfo("/bin/sh", ["-c", $"exec taskset -c {cores} dotnet \"{dll}\" {arguments} > \"{log}\" 2>&1"])
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(dll)!,
        };
        foreach (var (key, value) in environment) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        var server = new ServerProcess(process, log);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await AcceptsAsync(waitForPort))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(20)) : "";
                await server.DisposeAsync();
                throw new InvalidOperationException($"{name} did not start listening on {waitForPort}:\n{tail}");
            }
            await Task.Delay(100);
        }
        return server;
    }

    /// <summary>
    /// Code bodies the runtime has compiled so far (every tier of every method, and stubs): the lines of its perf map,
    /// which <see cref="PerfMapEnvironment"/> turns on. Null when the process writes none.
    /// </summary>
    public int? CompiledCode
    {
        get
        {
            try
            {
                using var map = new StreamReader(new FileStream(PerfMap, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
                var lines = 0;
                while (map.ReadLine() is not null) lines++;
                return lines;
            }
            catch (FileNotFoundException)
            {
                return null;
            }
        }
    }

    /// <summary>The runtime's perf map only (value 3: no perfinfo, no jitdump), written when code is compiled.</summary>
    public static KeyValuePair<string, string> PerfMapEnvironment => new("DOTNET_PerfMapEnabled", "3");

    private string PerfMap => Path.Combine(Path.GetTempPath(), $"perf-{_process.Id}.map");

    /// <summary>Each of the process's threads now: its name, CPU time and context switches.</summary>
    public ThreadTimes Threads => ThreadTimes.Of(_process.Id);

    /// <summary>User + system CPU time the process has used so far.</summary>
    public TimeSpan CpuTime => TimeSpan.FromSeconds(ProcStat.CpuTicks(File.ReadAllText($"/proc/{_process.Id}/stat")) / ProcStat.TicksPerSecond);

    /// <summary>
    /// Waits until the process is idle (under a tenth of a core over a quarter second), at most <paramref name="limit"/>:
    /// work left from what came before (the tiered compiler's backlog, a collection) is not measured as the next step's.
    /// Returns how long it waited.
    /// </summary>
    public async Task<TimeSpan> SettleAsync(TimeSpan limit)
    {
        var window = TimeSpan.FromMilliseconds(250);
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < limit)
        {
            var before = CpuTime;
            await Task.Delay(window);
            if (CpuTime - before <= window / 10) break;
        }
        return Stopwatch.GetElapsedTime(started);
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        File.Delete(PerfMap);
        _process.Dispose();
        File.Delete(LogFile);
    }
}
