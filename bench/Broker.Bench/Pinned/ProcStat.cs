namespace Broker.Bench.Pinned;

/// <summary>One line of <c>/proc/{pid}/stat</c> or <c>/proc/{pid}/task/{tid}/stat</c>: the name and the CPU time in it.</summary>
public static class ProcStat
{
    /// <summary>USER_HZ, the unit of the times in these files: 100 on every Linux this runs on.</summary>
    public const double TicksPerSecond = 100;

    /// <summary>
    /// User + system time, in ticks. The fields are counted after the command name, which is in parentheses and may hold
    /// spaces: utime is the 14th field of the line, stime the 15th.
    /// </summary>
    public static long CpuTicks(string stat)
    {
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11]) + long.Parse(fields[12]);
    }

    /// <summary>The command name (a thread's name, for a task), without its parentheses.</summary>
    public static string Name(string stat) => stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
}
