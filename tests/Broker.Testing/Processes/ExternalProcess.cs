using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Broker.Testing.Processes;

/// <summary>Runs a program to completion, failing with its output when it fails.</summary>
internal static class ExternalProcess
{
    public static bool IsRoot => RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && Environment.UserName == "root";

    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, string? runAsUser = null, TimeSpan? timeout = null)
    {
        var info = runAsUser is null
            ? new ProcessStartInfo(fileName)
            : new ProcessStartInfo("runuser") { ArgumentList = { "-u", runAsUser, "--", fileName } };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        var output = await stdout + await stderr;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{fileName} {string.Join(' ', info.ArgumentList)} exited {process.ExitCode}: {output}");
        return output;
    }
}
