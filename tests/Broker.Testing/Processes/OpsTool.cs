namespace Broker.Testing.Processes;

/// <summary>Runs the built <c>broker-ops</c> as an operator would, with the cluster's settings as environment variables.</summary>
public static class OpsTool
{
    public static Task<ProgramRun.Result> RunAsync(IReadOnlyDictionary<string, string?> settings, params string[] arguments) =>
        ProgramRun.RunAsync("dotnet", [BuiltAssembly.Find(Path.Combine("silo", "Broker.Ops"), "broker-ops.dll"), .. arguments], settings, TimeSpan.FromMinutes(2));
}
