namespace Broker.Abstractions;

/// <summary>
/// A failure with a typed reason. Grains throw it, Orleans carries it to the caller, and the gRPC layer
/// turns it into a status with an ErrorInfo. The message must never contain a token, code or secret.
/// </summary>
[GenerateSerializer]
public sealed class BrokerException : Exception
{
    public BrokerException(BrokerErrorReason reason, string message, TimeSpan? retryAfter = null)
        : base(message)
    {
        Reason = reason;
        RetryAfter = retryAfter;
    }

    [Id(0)] public BrokerErrorReason Reason { get; }

    /// <summary>For <see cref="BrokerErrorReason.Throttled"/> and <see cref="BrokerErrorReason.ProviderUnavailable"/>: when to try again.</summary>
    [Id(1)] public TimeSpan? RetryAfter { get; }

    /// <summary>An extra machine-readable detail, such as the upstream error code (invalid_grant). Never a secret.</summary>
    [Id(2)] public string? Detail { get; init; }
}
