using System.Collections.ObjectModel;
using System.Diagnostics;

namespace Broker.Testing;

/// <summary>
/// The collection an in-memory exporter adds spans to (<c>AddInMemoryExporter(spans)</c>), safe to read while the
/// exporter writes: every add and every <see cref="Snapshot"/> takes the same lock.
/// </summary>
public sealed class ExportedSpans : Collection<Activity>
{
    private readonly Lock _lock = new();

    protected override void InsertItem(int index, Activity item)
    {
        lock (_lock) base.InsertItem(index, item);
    }

    protected override void ClearItems()
    {
        lock (_lock) base.ClearItems();
    }

    public List<Activity> Snapshot()
    {
        lock (_lock) return [.. Items];
    }
}
