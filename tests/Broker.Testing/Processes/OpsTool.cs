using System.Diagnostics;
using System.Text.Json;

namespace Broker.Testing.Processes;

/// <summary>Runs the built <c>broker-ops</c> as an operator would, with the cluster's settings as environment variables.</summary>
public static class OpsTool
{
    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        public JsonElement Json => JsonDocument.Parse(Output).RootElement;
    }

    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string?> settings, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(BuiltAssembly.Find(Path.Combine("silo", "Broker.Ops"), "broker-ops.dll"));
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in settings)
        {
            if (value is not null) info.Environment[key.Replace(":", "__")] = value;
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await output, await errors);
    }
}
