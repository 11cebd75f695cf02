using Broker.Abstractions.Tokens;
using static Broker.Grains.Families.FamilyEffect;

namespace Broker.Grains.Families;

/// <summary>The family grain carrying out what <see cref="TokenFamilyDecisions"/> decided: the writes, revocations, reminders, events.</summary>
public sealed partial class TokenFamilyGrain
{
    private FamilyContext Context() => new(time.GetUtcNow(), _activation, _rules, _key.Provider.Value);

    private FamilyDecision Decide(FamilyEvent e) => TokenFamilyDecisions.Decide(State, e, Context());

    /// <summary>Under the store's lock: makes the event from the state as it is then, decides it, carries it out.</summary>
    private async Task Apply(Func<FamilyEvent> happen)
    {
        using (await _store.LockAsync())
        {
            var e = happen();
            await CarryOut(Decide(e), e);
        }
    }

    /// <summary>The effects every path shares, in the order decided. Flow effects (serve, wait, claim, resend) are read by their path.</summary>
    private async Task CarryOut(FamilyDecision decision, FamilyEvent e)
    {
        var before = State;
        foreach (var effect in decision.Effects)
        {
            switch (effect)
            {
                case Persist persist:
                    await _store.WriteAsync(decision.State, persist.Mode, onStored => TokenFamilyDecisions.Decide(onStored, e, Context()).State);
                    // A new grant replaces what a refused row held (a key this silo lacked, a row of an earlier version).
                    if (e is FamilyEvent.Authorized or FamilyEvent.Imported) _store.Accept();
                    if (ServedTokenChanged(before, State)) await _leases.Ended();
                    break;
                case FamilyEffect.RevokeUpstream revoke:
                    await RevokeUpstreamAsync(revoke.Grant switch
                    {
                        RevokedGrant.Replaced => _secrets.Readable(before),
                        RevokedGrant.Offered when e is FamilyEvent.Authorized offered => _secrets.Readable(offered.Tokens.RefreshToken, offered.Tokens.AccessToken),
                        _ => _secrets.Readable(State),
                    });
                    break;
                case ScheduleKeepAlive when _rules.KeepAliveInterval is { } interval:
                    await this.RegisterOrUpdateReminder(KeepAliveReminder, interval / 2, interval / 2);
                    break;
                case CancelKeepAlive:
                    await this.UnregisterReminderIfAny(KeepAliveReminder);
                    break;
                case Report report:
                    _telemetry.Report(report.Signal);
                    break;
                case Notify notify:
                    await events.EmitAsync(_key, State, notify.Notices, time.GetUtcNow());
                    break;
                case RefreshInBackground background:
                    StartInBackground(background.Cause);
                    break;
                case Fail fail:
                    throw fail.Error;
            }
        }
    }

    /// <summary>Revoking the refresh token revokes the grant at servers that support it (RFC 7009 §2.1).</summary>
    private async Task RevokeUpstreamAsync((string? Refresh, string? Access) grant)
    {
        var provider = providers.Get(_key.Provider);
        var (refresh, access) = grant;
        var confirmed = refresh is not null && await upstream.RevokeAsync(provider, refresh, "refresh_token");
        if (access is not null) await upstream.RevokeAsync(provider, access, "access_token");
        _telemetry.Revoked(confirmed);
    }
}
