using Broker.Grains.Upstream;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Grains.Tests.Throttling;

/// <summary>The rule for a provider that stops answering in time, on a fake clock in milliseconds.</summary>
public sealed class UnansweredRequestBackoffTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly UnansweredRequestBackoff _rule;

    public UnansweredRequestBackoffTests() =>
        _rule = new UnansweredRequestBackoff(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10), _clock);

    private void Advance(int ms) => _clock.Advance(TimeSpan.FromMilliseconds(ms));

    [Fact]
    public void A_provider_that_answers_holds_nothing_back()
    {
        Assert.Null(_rule.TryPass());
        _rule.Answered();
        Assert.Null(_rule.TryPass());
        Assert.Null(_rule.TryPass());
    }

    [Fact]
    public void One_unanswered_request_holds_back_new_requests_for_the_first_backoff_to_the_ms()
    {
        _rule.Unanswered();

        Assert.Equal(TimeSpan.FromMilliseconds(5000), _rule.TryPass());
        Advance(4999);
        Assert.Equal(TimeSpan.FromMilliseconds(1), _rule.TryPass());
        Advance(1);
        Assert.Null(_rule.TryPass()); // the probe
    }

    [Fact]
    public void After_a_hold_one_probe_goes_and_the_others_wait_for_its_answer()
    {
        _rule.Unanswered();
        Advance(5000);

        Assert.Null(_rule.TryPass());
        Assert.Equal(TimeSpan.FromMilliseconds(10000), _rule.TryPass());
        Advance(300);
        Assert.Equal(TimeSpan.FromMilliseconds(9700), _rule.TryPass());

        _rule.Answered();
        Assert.Null(_rule.TryPass());
        Assert.Null(_rule.TryPass());
    }

    [Fact]
    public void A_probe_that_never_ends_lets_another_go_after_the_probe_window()
    {
        _rule.Unanswered();
        Advance(5000);
        Assert.Null(_rule.TryPass());
        Advance(9999);
        Assert.NotNull(_rule.TryPass());
        Advance(1);
        Assert.Null(_rule.TryPass());
    }

    [Fact]
    public void Consecutive_unanswered_requests_double_the_hold_up_to_the_cap()
    {
        int[] expected = [5000, 10000, 20000, 40000, 60000, 60000];
        foreach (var hold in expected)
        {
            _rule.Unanswered();
            Assert.Equal(TimeSpan.FromMilliseconds(hold), _rule.TryPass());
            Advance(hold);
            Assert.Null(_rule.TryPass()); // the probe, which times out in its turn
            Advance(10000);
        }
    }

    [Fact]
    public void Requests_sent_before_the_hold_that_end_unanswered_during_it_neither_extend_nor_grow_it()
    {
        // Fifty refreshes went into the same stall: the first to time out holds every silo back, the other 49 say nothing new.
        _rule.Unanswered();
        for (var i = 0; i < 49; i++)
        {
            Advance(20);
            _rule.Unanswered();
        }
        Assert.Equal(1, _rule.Streak);
        Assert.Equal(TimeSpan.FromMilliseconds(5000 - 49 * 20), _rule.TryPass());
    }

    [Fact]
    public void An_answer_ends_the_streak_so_the_next_stall_starts_from_the_first_backoff()
    {
        _rule.Unanswered();
        Advance(5000);
        Assert.Null(_rule.TryPass());
        Advance(10000);
        _rule.Unanswered(); // the probe timed out: 10 s
        Assert.Equal(TimeSpan.FromMilliseconds(10000), _rule.TryPass());
        Advance(10000);
        Assert.Null(_rule.TryPass());
        _rule.Answered();
        Assert.Equal(0, _rule.Streak);

        _rule.Unanswered();
        Assert.Equal(TimeSpan.FromMilliseconds(5000), _rule.TryPass());
    }

    [Fact]
    public void An_answer_during_a_hold_ends_it()
    {
        // A request sent before the hold (a replay, a slow one) got its answer: the provider answers again.
        _rule.Unanswered();
        Advance(1000);
        Assert.NotNull(_rule.TryPass());
        _rule.Answered();
        Assert.Null(_rule.TryPass());
        Assert.Null(_rule.TryPass()); // no probe gate: the streak has ended
        Assert.Null(_rule.HeldUntil);
    }
}
