using System.Diagnostics;
using System.Text.Json;

namespace Broker.Testing.Processes;

/// <summary>
/// Runs a program as an operator would and keeps what it said: the exit code, stdout and stderr. Settings
/// named like configuration keys (<c>Broker:Cluster:Redis</c>) become <c>Broker__Cluster__Redis</c> variables.
/// </summary>
public static class ProgramRun
{
    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        public JsonElement Json => JsonDocument.Parse(Output).RootElement;
    }

    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is not null) info.Environment[key.Replace(":", "__")] = value;
        }
        try
        {
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(cancel.Token);
            return new Result(process.ExitCode, await output, await errors);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new Result(-1, "", $"{fileName}: {ex.Message}"); // not installed
        }
    }
}
