using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Testing;

/// <summary>One measurement: the instrument, its meter, the value and every tag.</summary>
public sealed record Measured(string Meter, string Instrument, double Value, IReadOnlyList<KeyValuePair<string, object?>> Tags)
{
    public string? Tag(string key) => Tags.FirstOrDefault(t => t.Key == key).Value?.ToString();
}

/// <summary>
/// Records measurements while it lives. <see cref="ForSilo"/> listens only to meters made by one silo's
/// <see cref="IMeterFactory"/> (the broker's meter <c>Broker</c>), so other silos of the same test process, which
/// share the meter's name, do not move the counts; <see cref="All"/> listens to every meter in the process.
/// </summary>
public sealed class MeterCapture : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Measured> _measured = new();

    private MeterCapture(Func<Instrument, bool> include)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (include(instrument)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    /// <summary>Every instrument of meters created by this silo's meter factory.</summary>
    public static MeterCapture ForSilo(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        return new MeterCapture(i => ReferenceEquals(i.Meter.Scope, factory));
    }

    /// <summary>Every instrument of every meter in the process (for searches, not for counts).</summary>
    public static MeterCapture All() => new(_ => true);

    public IReadOnlyCollection<Measured> Measurements => _measured;

    /// <summary>The sum of one instrument's measurements whose tags include all the given ones.</summary>
    public double Sum(string instrument, params (string Key, string Value)[] tags) => _measured
        .Where(m => m.Instrument == instrument && tags.All(t => m.Tag(t.Key) == t.Value))
        .Sum(m => m.Value);

    /// <summary>Observable instruments report only when asked.</summary>
    public void RecordObservable() => _listener.RecordObservableInstruments();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _measured.Enqueue(new Measured(instrument.Meter.Name, instrument.Name, value, tags.ToArray()));

    public void Dispose() => _listener.Dispose();
}
