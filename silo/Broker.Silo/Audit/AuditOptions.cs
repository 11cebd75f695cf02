using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Audit;

/// <summary>Where the audit trail (<c>Broker.Audit</c>, event ids 6000-6099) is written. Section <c>Broker:Audit</c>.</summary>
public sealed class AuditOptions
{
    public const string Section = "Broker:Audit";

    /// <summary>
    /// <see cref="AuditSink.Stdout"/> (default): JSON lines on standard output from a writer of its own, batched, never
    /// blocking a call. <see cref="AuditSink.File"/>: the same lines appended to <see cref="Path"/>.
    /// <see cref="AuditSink.Logging"/>: through the configured logging providers like any other category (the console
    /// logger serializes every line through one lock: for development, not for a busy silo).
    /// </summary>
    public AuditSink Sink { get; set; } = AuditSink.Stdout;

    /// <summary>The file the <see cref="AuditSink.File"/> sink appends to.</summary>
    public string? Path { get; set; }

    /// <summary>Events waiting to be written at most; beyond it new events are dropped and counted (<c>broker.audit.dropped</c>).</summary>
    public int Capacity { get; set; } = 100_000;
}

public enum AuditSink
{
    Stdout,
    File,
    Logging,
}

public sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var failures = new SettingFailures(AuditOptions.Section);
        if (!Enum.IsDefined(options.Sink))
            failures.Add(nameof(options.Sink), "must be Stdout, File or Logging.");
        if (options.Sink == AuditSink.File && string.IsNullOrWhiteSpace(options.Path))
            failures.Add(nameof(options.Path), "must name the file the audit trail is appended to when Sink is File.");
        if (options.Capacity is < 1_000 or > 10_000_000)
            failures.Add(nameof(options.Capacity), $"must be between 1000 and 10000000 events (was {options.Capacity}).");
        return failures.Result;
    }
}
