using Orleans;
using Orleans.Runtime;

namespace Broker.Testing.Hosting;

/// <summary>What Orleans' management grain reports as live activations, by grain type, across the cluster.</summary>
public static class GrainActivations
{
    /// <summary>
    /// Activation counts by grain type. The management grain activates itself on first use, so a test takes its
    /// "before" only after one call (this method calls it twice for that reason).
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, int>> CountAsync(IGrainFactory grains)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        await management.GetSimpleGrainStatistics();
        var statistics = await management.GetSimpleGrainStatistics();
        return statistics.GroupBy(s => s.GrainType, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount), StringComparer.Ordinal);
    }

    /// <summary>"type=count, ..." sorted, for assertion messages.</summary>
    public static string Describe(IReadOnlyDictionary<string, int> counts) =>
        string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));
}
