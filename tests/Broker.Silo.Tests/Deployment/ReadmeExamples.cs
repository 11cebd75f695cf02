using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Broker.Testing.Processes;

namespace Broker.Silo.Tests.Deployment;

/// <summary>
/// The README's runnable examples: each fenced <c>bash</c> block right after a <c>&lt;!-- readme-example: NAME --&gt;</c>
/// line. They are run as written, by bash, from the repository's root, with two substitutions stated here: the
/// embedded broker's default ports (127.0.0.1:5300 and :5380) become free ones, so a developer's own broker on the
/// defaults does not disturb the run; and the placeholders the README asks the reader to set (ISSUER, CLIENT_ID,
/// CLIENT_SECRET, BROKER_API_KEY) come from the test's environment.
/// </summary>
public sealed partial class ReadmeExamples
{
    private readonly IReadOnlyDictionary<string, string> _blocks;
    private readonly Dictionary<string, string?> _environment;
    private readonly (int Grpc, int Http)? _ports;

    public ReadmeExamples(Dictionary<string, string?> environment, (int Grpc, int Http)? ports = null)
    {
        _blocks = Load();
        _environment = environment;
        _ports = ports;
    }

    public static string ReadmePath => Path.Combine(BuiltAssembly.RepositoryRoot(), "README.md");

    public static IReadOnlyDictionary<string, string> Load()
    {
        var blocks = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match match in Marked().Matches(File.ReadAllText(ReadmePath)))
        {
            if (!blocks.TryAdd(match.Groups["name"].Value, match.Groups["code"].Value))
                throw new InvalidOperationException($"README.md marks two examples '{match.Groups["name"].Value}'.");
        }
        return blocks;
    }

    /// <summary>The block as it is run: the README's text with the stated substitutions.</summary>
    public string Script(string name)
    {
        var code = _blocks.TryGetValue(name, out var found)
            ? found
            : throw new InvalidOperationException($"README.md has no example marked '<!-- readme-example: {name} -->'.");
        if (_ports is { } ports)
            code = code.Replace("127.0.0.1:5300", $"127.0.0.1:{ports.Grpc}", StringComparison.Ordinal)
                .Replace("127.0.0.1:5380", $"127.0.0.1:{ports.Http}", StringComparison.Ordinal);
        return code;
    }

    /// <summary>Runs one example to its end.</summary>
    public Task<ProgramRun.Result> RunAsync(string name, TimeSpan? timeout = null) =>
        RunInRootAsync(["-e", "-o", "pipefail", "-c", Script(name)], timeout ?? TimeSpan.FromMinutes(3));

    /// <summary>Starts an example that keeps running (the broker in the foreground of its terminal).</summary>
    public Background Start(string name) => new(Info(["-e", "-o", "pipefail", "-c", Script(name)]));

    private async Task<ProgramRun.Result> RunInRootAsync(string[] arguments, TimeSpan timeout)
    {
        using var process = Process.Start(Info(arguments))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"README example did not end within {timeout}: {string.Join(' ', arguments)}");
        }
        return new ProgramRun.Result(process.ExitCode, await output, await errors);
    }

    private ProcessStartInfo Info(string[] arguments)
    {
        var info = new ProcessStartInfo("bash")
        {
            WorkingDirectory = BuiltAssembly.RepositoryRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in _environment)
        {
            if (value is not null) info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        return info;
    }

    [GeneratedRegex(@"^<!-- readme-example: (?<name>[a-z0-9-]+) -->\r?\n```bash\r?\n(?<code>.*?)\r?\n```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Marked();

    /// <summary>An example running in the background; its output is kept; disposing ends it and its children.</summary>
    public sealed class Background : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        public Background(ProcessStartInfo info)
        {
            _process = new Process { StartInfo = info };
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public bool HasExited => _process.HasExited;

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
            _process.Dispose();
        }
    }
}
