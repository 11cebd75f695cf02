using Orleans.Configuration;

namespace Broker.Grains.Families;

internal static class ReminderExtensions
{
    public static async Task UnregisterReminderIfAny(this Grain grain, string name)
    {
        if (await grain.GetReminder(name) is { } reminder) await grain.UnregisterReminder(reminder);
    }

    /// <summary>A reminder whose period is raised to Orleans' <see cref="ReminderOptions.MinimumReminderPeriod"/>, which refuses shorter ones.</summary>
    public static Task<IGrainReminder> RegisterOrUpdateReminderAtLeast(this Grain grain, string name, TimeSpan due, TimeSpan period, ReminderOptions options) =>
        grain.RegisterOrUpdateReminder(name, due, period > options.MinimumReminderPeriod ? period : options.MinimumReminderPeriod);
}
