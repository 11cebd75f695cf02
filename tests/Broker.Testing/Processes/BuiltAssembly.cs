namespace Broker.Testing.Processes;

/// <summary>Finds a program of this repository as built next to the tests (Release or Debug, newest first).</summary>
public static class BuiltAssembly
{
    /// <summary>The checkout the tests run from: the folder holding Broker.sln.</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Broker.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Broker.sln not found above the test binaries.");
    }

    public static string Find(string projectFolder, string fileName)
    {
        var bin = new DirectoryInfo(Path.Combine(RepositoryRoot(), projectFolder, "bin"));
        return (bin.Exists ? bin.EnumerateFiles(fileName, SearchOption.AllDirectories) : [])
            .Where(f => f.Directory!.Name.StartsWith("net", StringComparison.Ordinal))
            .OrderByDescending(f => f.LastWriteTimeUtc)
            .FirstOrDefault()?.FullName
            ?? throw new InvalidOperationException($"{projectFolder} is not built: dotnet build Broker.sln first.");
    }
}
