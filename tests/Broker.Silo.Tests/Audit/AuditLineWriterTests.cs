using System.Text;
using System.Text.Json;
using Broker.Silo.Audit;
using Broker.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Silo.Tests.Audit;

public sealed class AuditLineWriterTests
{
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Each_event_is_one_json_line_with_its_fields()
    {
        var output = new MemoryStream();
        using (var writer = new AuditLineWriter(output, capacity: 1_000, Time))
        {
            writer.Enqueue(Event("Audit: {Caller} {Action} provider={Provider}.", "billing", "GetAccessToken", "github"));
        }

        var line = Assert.Single(Lines(output));
        using var json = JsonDocument.Parse(line);
        Assert.Equal(6000, json.RootElement.GetProperty("EventId").GetInt32());
        Assert.Equal("Broker.Audit", json.RootElement.GetProperty("Category").GetString());
        Assert.Equal("Information", json.RootElement.GetProperty("LogLevel").GetString());
        Assert.Equal("Audit: billing GetAccessToken provider=github.", json.RootElement.GetProperty("Message").GetString());
        Assert.Equal(Time.GetUtcNow(), json.RootElement.GetProperty("Timestamp").GetDateTimeOffset());
        var state = json.RootElement.GetProperty("State");
        Assert.Equal("billing", state.GetProperty("Caller").GetString());
        Assert.Equal("github", state.GetProperty("Provider").GetString());
        Assert.False(state.TryGetProperty("{OriginalFormat}", out _));
    }

    [Fact]
    public void A_message_keeps_escaped_braces_and_a_name_held_twice_or_with_alignment_and_format_takes_one_value() =>
        Assert.Equal("Audit: {kept} ops ops ops f1.", MessageOf("Audit: {{kept}} {Caller} {Caller,8} {Caller:F1} {Family}.", "ops", "f1"));

    [Fact]
    public void A_brace_that_opens_or_closes_nothing_is_text() =>
        Assert.Equal("Audit: } ops {open", MessageOf("Audit: } {Caller} {open", "ops"));

    [Fact]
    public void An_event_with_fewer_or_more_values_than_its_template_names_is_refused()
    {
        var kind = new AuditEventKind((AuditEvent)6000, LogLevel.Information, "token_handed_out", "Audit: {Caller} described {Family}.");
        Assert.Throws<ArgumentException>(() => new AuditRecord(Time.GetUtcNow(), kind, "ops"));
        Assert.Throws<ArgumentException>(() => new AuditRecord(Time.GetUtcNow(), kind, "ops", "f1", "extra"));
    }

    [Fact]
    public void Stopping_writes_every_event_still_waiting()
    {
        var output = new MemoryStream();
        using (var writer = new AuditLineWriter(output, capacity: 10_000, Time))
        {
            for (var i = 0; i < 5_000; i++) writer.Enqueue(Event("Audit: {Caller} described {Family}.", "ops", i.ToString()));
        }

        var families = Lines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("State").GetProperty("Family").GetString()).ToList();
        Assert.Equal(Enumerable.Range(0, 5_000).Select(i => i.ToString()), families);
    }

    [Fact]
    public async Task A_stuck_output_never_blocks_a_call_and_the_trail_records_how_many_events_it_dropped()
    {
        var output = new StuckStream();
        long counted = 0;
        using var writer = new AuditLineWriter(output, capacity: 1_000, Time, dropped => Interlocked.Add(ref counted, dropped));
        writer.Enqueue(Event("Audit: {Caller} first.", "ops"));
        Assert.True(output.Entered.Wait(TimeSpan.FromSeconds(30)), "the writer never wrote the first event");

        // The writer is stuck in a write with nothing queued: a thousand more wait, the next 500 are dropped.
        await Task.Run(() =>
        {
            for (var i = 0; i < 1_500; i++) writer.Enqueue(Event("Audit: {Caller} call {Number}.", "ops", i.ToString()));
        }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(500, writer.Dropped);
        Assert.Equal(500, Interlocked.Read(ref counted));

        output.Release();
        writer.Dispose();
        var lines = output.Lines();
        Assert.Equal(1 + 1_000, lines.Count(l => l.Contains("\"EventId\":6000", StringComparison.Ordinal)));
        var gap = JsonDocument.Parse(Assert.Single(lines, l => l.Contains("\"EventId\":6013", StringComparison.Ordinal))).RootElement;
        Assert.Equal(500, gap.GetProperty("State").GetProperty("Dropped").GetInt64());
        Assert.Equal("Warning", gap.GetProperty("LogLevel").GetString());
    }

    [Fact]
    public void A_batch_never_splits_a_line_across_two_writes()
    {
        var output = new RecordingStream();
        using (var writer = new AuditLineWriter(output, capacity: 10_000, Time))
        {
            for (var i = 0; i < 2_000; i++) writer.Enqueue(Event("Audit: {Caller} {Padding}.", "ops", new string('x', i % 300)));
        }

        Assert.True(output.Writes.Count > 1);
        Assert.All(output.Writes, write =>
        {
            Assert.True(write.Length <= 4096, $"a write of {write.Length} bytes is not atomic on a pipe");
            Assert.Equal((byte)'\n', write[^1]);
        });
    }

    [Fact]
    public void A_file_gets_large_batches_that_still_end_on_a_line()
    {
        var output = new RecordingStream();
        using (var writer = new AuditLineWriter(output, capacity: 10_000, Time, batchBytes: AuditLineWriter.FileBatchBytes))
        {
            for (var i = 0; i < 2_000; i++) writer.Enqueue(Event("Audit: {Caller} {Padding}.", "ops", new string('x', i % 300)));
        }

        Assert.Contains(output.Writes, write => write.Length > AuditLineWriter.PipeBatchBytes);
        Assert.All(output.Writes, write =>
        {
            Assert.True(write.Length <= AuditLineWriter.FileBatchBytes, $"a write of {write.Length} bytes is over the batch");
            Assert.Equal((byte)'\n', write[^1]);
        });
        Assert.Equal(2_000, Encoding.UTF8.GetString([.. output.Writes.SelectMany(w => w)]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    /// <summary>The message of the one line an event with this template and these values is written as.</summary>
    private static string? MessageOf(string template, params string[] values)
    {
        var output = new MemoryStream();
        using (var writer = new AuditLineWriter(output, capacity: 1_000, Time)) writer.Enqueue(Event(template, values));

        using var json = JsonDocument.Parse(Assert.Single(Lines(output)));
        return json.RootElement.GetProperty("Message").GetString();
    }

    private static AuditRecord Event(string template, params string[] values) =>
        new(Time.GetUtcNow(), new AuditEventKind((AuditEvent)6000, LogLevel.Information, "token_handed_out", template), values);

    private static List<string> Lines(MemoryStream output) =>
        [.. Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>Standard output nobody reads: the first write blocks until released.</summary>
    private sealed class StuckStream : MemoryStream
    {
        private readonly ManualResetEventSlim _released = new();
        public ManualResetEventSlim Entered { get; } = new();

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Entered.Set();
            _released.Wait();
            lock (this) base.Write(buffer);
        }

        public void Release() => _released.Set();

        public List<string> Lines()
        {
            lock (this) return [.. Encoding.UTF8.GetString(ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)];
        }
    }

    private sealed class RecordingStream : MemoryStream
    {
        public List<byte[]> Writes { get; } = [];

        public override void Write(ReadOnlySpan<byte> buffer) => Writes.Add(buffer.ToArray());
    }
}
