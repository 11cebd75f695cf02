using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Broker.Grains.Telemetry;
using Broker.Silo.Audit;
using Broker.Silo.Callers;
using Broker.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Bench.Parts;

/// <summary>
/// 7. Parts of a cache hit, timed alone in this process: what a profile of the pinned silo pointed at, measured so that
/// the figures quoted in the code can be reproduced. One thread, <see cref="Rounds"/> rounds of the same loop, median
/// and range; the first round warms the code and is not counted. The API-key comparison has its baseline (the
/// framework's <see cref="CryptographicOperations.FixedTimeEquals"/>) in the same rounds; the audit event has none.
/// </summary>
public sealed class HotPathParts(int iterations)
{
    private const int Rounds = 6;

    public void Run(Report report)
    {
        var section = report.Add($"7. Parts of a cache hit, one thread, {iterations:N0} iterations x {Rounds - 1} rounds; ns per operation, median [min-max]",
            "part", "ns", "baseline", "ns (baseline)", "ratio");
        var key = ApiKeyHash.NewKey();
        var same = new string(key.ToCharArray());
        var ours = new List<double>();
        var framework = new List<double>();
        var equal = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < iterations; i++)
            {
                if (CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(key.AsSpan()), MemoryMarshal.AsBytes(same.AsSpan()))) equal++;
            }
            var frameworkNs = PerOperation(started);
            started = Stopwatch.GetTimestamp();
            for (var i = 0; i < iterations; i++)
            {
                if (FixedTimeKey.AreEqual(key, same)) equal++;
            }
            if (round == 0) continue;
            ours.Add(PerOperation(started));
            framework.Add(frameworkNs);
        }
        if (equal != 2 * Rounds * iterations) throw new InvalidOperationException("a comparison of equal keys answered false.");
        section.Rows.Add(["API key comparison (46 characters), FixedTimeKey", Report.Spread(ours, 0), "CryptographicOperations.FixedTimeEquals", Report.Spread(framework, 0),
            Report.F(Report.Median(ours) / Report.Median(framework))]);
        section.Figures["apiKey"] = new { fixedTimeKeyNs = Report.Median(ours), fixedTimeEqualsNs = Report.Median(framework) };

        var (requestSide, writerSide, bytes) = AuditEvent();
        section.Rows.Add(["audit event on the request thread (TokenHandedOut, dropped at the writer)", Report.Spread(requestSide, 0), "-", "-", "-"]);
        section.Rows.Add([$"audit event on the writer's thread (render and JSON, {bytes} bytes)", Report.Spread(writerSide, 0), "-", "-", "-"]);
        section.Figures["audit"] = new { requestSideNs = Report.Median(requestSide), writerSideNs = Report.Median(writerSide), bytes };
        section.Notes.Add("dotnet bench/Broker.Bench/bin/Release/net10.0/Broker.Bench.dll --scenarios parts");
    }

    private (List<double> RequestSide, List<double> WriterSide, int Bytes) AuditEvent()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new BrokerMetrics(services.GetRequiredService<IMeterFactory>());
        // Capacity 0: every event is built, counted and dropped, so the request side is measured without a queue that grows.
        using var dropping = new AuditLineWriter(Stream.Null, capacity: 0, TimeProvider.System);
        using var loggers = LoggerFactory.Create(b => b.ClearProviders());
        var audit = new AuditLog(loggers, metrics, TimeProvider.System, dropping);
        string[] values = ["bench", "GetAccessToken", "bench-provider", "f-0123456789abcdef", "cache"];
        var record = new AuditRecord(DateTimeOffset.UtcNow, AuditEventKinds.TokenHandedOut, values);
        var line = new ArrayBufferWriter<byte>(512);
        using var json = new Utf8JsonWriter(line);
        var requestSide = new List<double>();
        var writerSide = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < iterations; i++)
                audit.Succeeded(Broker.V1.AuditEvent.TokenHandedOut, values[0], values[1], values[2], values[3], values[4]);
            var requestNs = PerOperation(started);
            started = Stopwatch.GetTimestamp();
            for (var i = 0; i < iterations; i++)
            {
                line.ResetWrittenCount();
                json.Reset(line);
                record.Write(json);
                json.Flush();
            }
            if (round == 0) continue;
            writerSide.Add(PerOperation(started));
            requestSide.Add(requestNs);
        }
        return (requestSide, writerSide, line.WrittenCount);
    }

    private double PerOperation(long started) => Stopwatch.GetElapsedTime(started).TotalNanoseconds / iterations;
}
