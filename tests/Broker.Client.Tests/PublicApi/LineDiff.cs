using System.Text;

namespace Broker.Client.Tests.PublicApi;

/// <summary>The lines two texts do not share, in order: "- n:" only in the first, "+ n:" only in the second (n its line number there).</summary>
internal static class LineDiff
{
    public static string Of(string before, string after)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');
        // Longest common subsequence of lines, counted from the end; an API file is a few hundred lines.
        var common = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
            for (var j = b.Length - 1; j >= 0; j--)
                common[i, j] = a[i] == b[j] ? common[i + 1, j + 1] + 1 : Math.Max(common[i + 1, j], common[i, j + 1]);

        var diff = new StringBuilder();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                x++;
                y++;
            }
            else if (x < a.Length && (y == b.Length || common[x + 1, y] >= common[x, y + 1]))
            {
                diff.Append($"- {x + 1}: ").Append(a[x++]).Append('\n');
            }
            else
            {
                diff.Append($"+ {y + 1}: ").Append(b[y++]).Append('\n');
            }
        }
        return diff.ToString();
    }
}
