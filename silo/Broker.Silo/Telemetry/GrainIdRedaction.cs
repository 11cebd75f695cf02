using System.Diagnostics;
using Broker.Abstractions.Identity;
using OpenTelemetry;

namespace Broker.Silo.Telemetry;

/// <summary>
/// Orleans tags its call spans with the target grain's id, and a family's id holds the subject, which can be
/// personal data. Before any exporter sees a span, such ids become the family's keyed log id (FamilyLogId).
/// </summary>
public sealed class GrainIdRedaction(FamilyLogId logIds) : BaseProcessor<Activity>
{
    private const string FamilyType = "tokenfamily/";

    public override void OnEnd(Activity activity)
    {
        if (!activity.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)) return;
        List<(string Key, string Value)>? changes = null;
        foreach (var (key, value) in activity.TagObjects)
        {
            if (value is string text && text.Contains(FamilyType, StringComparison.Ordinal))
                (changes ??= []).Add((key, Redact(text)));
        }
        if (changes is not null)
        {
            foreach (var (key, value) in changes) activity.SetTag(key, value);
        }
        // Error descriptions (storage failures name the grain) are prose: drop them rather than parse them.
        if (activity.StatusDescription?.Contains(FamilyType, StringComparison.Ordinal) == true)
            activity.SetStatus(activity.Status, "redacted: the description named a family");
    }

    private string Redact(string text)
    {
        var start = text.IndexOf(FamilyType, StringComparison.Ordinal) + FamilyType.Length;
        var grainKey = text[start..];
        try
        {
            var family = FamilyKey.FromGrainKey(grainKey);
            return $"{text[..start]}{family.Provider}/{logIds.Of(family)}";
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or Broker.Abstractions.BrokerException)
        {
            return $"{text[..start]}redacted";
        }
    }
}
