using Broker.Abstractions.Settings;
using Microsoft.Extensions.Options;

namespace Broker.Grains.Families;

/// <summary>Stops the silo at start when a family setting would stall, spin or never fence, naming it.</summary>
public sealed class TokenFamilyOptionsValidator : IValidateOptions<TokenFamilyOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenFamilyOptions options)
    {
        var failures = new SettingFailures(TokenFamilyOptions.Section);
        failures.Positive(nameof(options.RefreshLease), options.RefreshLease);
        failures.Positive(nameof(options.IntentPollInterval), options.IntentPollInterval);
        // A waiter that polls less often than the lease lasts sees a dead activation's intent expire unnoticed.
        if (options.IntentPollInterval > TimeSpan.Zero && options.IntentPollInterval >= options.RefreshLease)
            failures.Add(nameof(options.IntentPollInterval),
                $"must be shorter than {failures.Path(nameof(options.RefreshLease))} (was {options.IntentPollInterval}, lease {options.RefreshLease}).");
        // Zero is allowed: every forced refresh then goes upstream.
        failures.NotNegative(nameof(options.MinForcedRefreshInterval), options.MinForcedRefreshInterval);
        // Reuse detection needs at least the token just superseded.
        failures.AtLeast(nameof(options.SupersededTokenHistory), options.SupersededTokenHistory, 1);
        failures.NotNegative(nameof(options.ExpiryBuffer), options.ExpiryBuffer);
        if (!(options.RefreshAheadJitter is >= 0 and < 1))
            failures.Add(nameof(options.RefreshAheadJitter), $"must be at least 0 and below 1 (was {options.RefreshAheadJitter}).");
        // Zero would retry a failing store in a tight loop.
        failures.Positive(nameof(options.PersistRetryDelay), options.PersistRetryDelay);
        failures.AtLeast(nameof(options.PersistAttemptsPerCall), options.PersistAttemptsPerCall, 1);
        // Every revocation waits out the leases: a long one would hold revocations (and the grain) back.
        failures.NotNegative(nameof(options.ServedTokenLease), options.ServedTokenLease);
        if (options.ServedTokenLease > TimeSpan.FromSeconds(5))
            failures.Add(nameof(options.ServedTokenLease), $"must be at most 5 seconds (was {options.ServedTokenLease}).");
        return failures.Result;
    }
}
