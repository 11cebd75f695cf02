using Microsoft.Extensions.Options;

namespace Broker.Silo.Hosting;

/// <summary>The settings failures a start-up exception carries, so the process can print them all and exit 2.</summary>
public static class InvalidSettings
{
    /// <summary>
    /// ValidateOnStart throws one section's failures as an <see cref="OptionsValidationException"/> but several
    /// sections' as an <see cref="AggregateException"/> of them; empty when the exception is about something else.
    /// </summary>
    public static IReadOnlyList<string> From(Exception ex) => ex switch
    {
        OptionsValidationException invalid => invalid.Failures.ToList(),
        AggregateException { InnerExceptions: var inner } when inner.All(e => e is OptionsValidationException) =>
            inner.SelectMany(e => ((OptionsValidationException)e).Failures).ToList(),
        _ => [],
    };
}
