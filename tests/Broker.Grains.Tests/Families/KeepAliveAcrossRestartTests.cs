using System.Diagnostics;
using Broker.Abstractions.Identity;
using Broker.Testing.AuthorizationServer;
using Broker.Testing.Hosting;
using Broker.V1;
using Xunit.Abstractions;

namespace Broker.Grains.Tests.Families;

/// <summary>
/// Keep-alive is a durable reminder (Redis in cluster mode): a family nobody asks for is refreshed before its
/// provider would revoke the idle refresh token, even when its grain is not active and the silo that scheduled
/// the reminder is gone. Only the reminder, read back from Redis by a new silo, can wake the family here.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class KeepAliveAcrossRestartTests(Infrastructure infrastructure, ITestOutputHelper output) : IAsyncLifetime
{
    // The reminder ticks every 5 s and refreshes a family idle for 10 s: the first silo is gone well before that.
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(10);
    private TestAuthorizationServer _server = null!;
    private ClusterSpec _spec = null!;
    private BrokerSilo? _first;
    private BrokerSilo? _second;

    public async Task InitializeAsync()
    {
        _server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions { AccessTokenLifetime = TimeSpan.FromMinutes(10) });
        _spec = ClusterSpec.New(await infrastructure.NewDatabaseAsync(), infrastructure.Redis.Configuration, ProviderSettings.Merge(
            ProviderSettings.For("test", _server), new()
            {
                ["Broker:Providers:test:KeepAliveInterval"] = KeepAliveInterval.ToString(),
                ["Broker:Reminders:MinimumReminderPeriod"] = "00:00:01",
            }));
        _first = await _spec.StartSiloAsync();
        await _server.AddRedirectUriAsync("broker", _first.RedirectUri("test"));
    }

    [Fact]
    public async Task Idle_inactive_family_is_refreshed_by_its_durable_reminder_on_a_restarted_silo()
    {
        await AuthorizationFlow.AuthorizeAsync(_first!, "test", "idle", "api.read");
        var authorizedAt = Stopwatch.StartNew();
        var grainKey = new FamilyKey(ProviderName.Parse("test"), Subject.Parse("idle")).ToGrainKey();
        var management = _first!.Grains.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);
        var active = await management.GetDetailedGrainStatistics();
        Assert.DoesNotContain(active, grain => grain.GrainId.Key.ToString() == grainKey);

        await _first.StopAsync();
        var refreshesBefore = _server.Stats.RefreshTokenGrants;
        _second = await _spec.StartSiloAsync();
        output.WriteLine($"first silo stopped and second ready {authorizedAt.Elapsed.TotalSeconds:F1} s after the authorization");

        // No call to the family: only the server's counter is watched.
        var waited = Stopwatch.StartNew();
        while (_server.Stats.RefreshTokenGrants == refreshesBefore && waited.Elapsed < TimeSpan.FromSeconds(45)) await Task.Delay(200);
        output.WriteLine($"refresh seen {authorizedAt.Elapsed.TotalSeconds:F1} s after the authorization; {_server.Stats}");
        Assert.True(_server.Stats.RefreshTokenGrants > refreshesBefore, "no keep-alive refresh within 45 s of the restart");
        Assert.True(authorizedAt.Elapsed >= KeepAliveInterval, "refreshed before the family had been idle for the keep-alive interval");

        var description = await _second.Client.DescribeFamilyAsync(new DescribeFamilyRequest { Provider = "test", Subject = "idle" });
        Assert.Equal("active", description.Status);
        Assert.True(description.RefreshCount >= 1, $"refresh_count {description.RefreshCount}");
        Assert.Equal(0, _server.Stats.RefreshTokenRejections);
        var token = await _second.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "idle" });
        Assert.True(await _server.IsActiveAsync(token.AccessToken_));
    }

    public async Task DisposeAsync()
    {
        if (_second is not null) await _second.DisposeAsync();
        if (_first is not null) await _first.DisposeAsync();
        await _server.DisposeAsync();
    }
}
