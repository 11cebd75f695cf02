using System.Runtime.CompilerServices;
using PublicApiGenerator;

namespace Broker.Client.Tests.PublicApi;

/// <summary>
/// What services build against is Broker.Client's public API: a change to it shows as a diff of the checked-in
/// Broker.Client.approved.txt. On a mismatch the test writes Broker.Client.received.txt beside it; copy that over the
/// approved file once the change is meant.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void The_public_api_is_the_approved_one()
    {
        var approvedPath = Path.Combine(SourceFolder(), "Broker.Client.approved.txt");
        var receivedPath = Path.Combine(SourceFolder(), "Broker.Client.received.txt");
        var received = Normalized(typeof(BrokerClient).Assembly.GeneratePublicApi());
        var approved = File.Exists(approvedPath) ? Normalized(File.ReadAllText(approvedPath)) : "";

        if (received == approved)
        {
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, received);
        Assert.Fail($"The public API of Broker.Client changed (- approved, + now). If that is meant, review it and copy {receivedPath} over {approvedPath}.\n{LineDiff.Of(approved, received)}");
    }

    private static string Normalized(string text) => text.ReplaceLineEndings("\n").TrimEnd('\n') + "\n";

    // The approved file lives beside this source file, not in the build output: the test reads and writes the tree.
    private static string SourceFolder([CallerFilePath] string path = "")
    {
        var folder = Path.GetDirectoryName(path)!;
        return Directory.Exists(folder) ? folder : throw new InvalidOperationException($"{folder} is not on this machine: run the test from a checkout.");
    }
}
