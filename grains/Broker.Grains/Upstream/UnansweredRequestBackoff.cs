namespace Broker.Grains.Upstream;

/// <summary>
/// The rule for a provider that stops answering in time (a token request that timed out, or whose connection failed
/// after it was sent). Each such request is a lost answer, and a lost refresh can cost its family the grant, so after
/// one the client sends no new token requests for a while, on every silo (the <see cref="ClientThrottleGrain"/> holds
/// one of these per client): <see cref="First"/> after a first unanswered request, doubling with each consecutive one
/// up to <see cref="Max"/>. When a hold ends, one request goes first as a probe; the others wait until it is answered
/// or until <see cref="ProbeWindow"/> (the request timeout) has passed, so a provider still stalled costs one request
/// per hold, not one per family. Any answer ends the hold and the streak: the provider answers again. Requests sent before a hold that end unanswered during it
/// say nothing new (they went into the same stall), so they neither extend nor grow it.
/// </summary>
public sealed class UnansweredRequestBackoff(TimeSpan first, TimeSpan max, TimeSpan probeWindow, TimeProvider time)
{
    private int _streak;
    private DateTimeOffset _heldUntil;
    private DateTimeOffset _probeUntil;

    public TimeSpan First => first;
    public TimeSpan Max => max;
    public TimeSpan ProbeWindow => probeWindow;

    /// <summary>The end of the current hold, if one is on.</summary>
    public DateTimeOffset? HeldUntil => _heldUntil > time.GetUtcNow() ? _heldUntil : null;

    /// <summary>Consecutive unanswered requests (each counted once per hold).</summary>
    public int Streak => _streak;

    /// <summary>
    /// Whether a new request may go now; null when it may (perhaps as the probe), else how long it must wait.
    /// </summary>
    public TimeSpan? TryPass()
    {
        var now = time.GetUtcNow();
        if (now < _heldUntil) return _heldUntil - now;
        if (_streak == 0) return null;
        // Still in a streak: the provider has not answered since the hold began. One request finds out.
        if (now < _probeUntil) return _probeUntil - now;
        _probeUntil = now + probeWindow;
        return null;
    }

    /// <summary>A request ended without an answer (timeout, connection lost after sending).</summary>
    public void Unanswered()
    {
        var now = time.GetUtcNow();
        if (now < _heldUntil) return; // sent before the hold, into the same stall
        _streak++;
        var hold = first * Math.Pow(2, Math.Min(_streak - 1, 30));
        _heldUntil = now + (hold < max ? hold : max);
        _probeUntil = default;
    }

    /// <summary>The request that <see cref="TryPass"/> let go was not sent after all: another may probe at once.</summary>
    public void NotSent() => _probeUntil = default;

    /// <summary>The provider answered a request (with tokens, an error, or a throttle): it is not stalled.</summary>
    public void Answered()
    {
        // The provider answers again (a replay, a probe, a slow request got through): nothing is held back any longer.
        _streak = 0;
        _heldUntil = default;
        _probeUntil = default;
    }
}
