using Broker.Testing.AuthorizationServer;

namespace Broker.Grains.Tests.Hosting;

/// <summary>
/// The test server's reuse counter, which the silo-loss tests rely on: a second presentation of a refresh token
/// counts, whether the server accepts it (inside a leeway) or rejects it.
/// </summary>
public sealed class RefreshTokenReuseCounterTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Second_presentation_of_a_refresh_token_counts_as_reuse_with_or_without_leeway(bool leeway)
    {
        await using var server = await TestAuthorizationServer.StartAsync(new TestAuthorizationServerOptions
        {
            RefreshTokenReuseLeeway = leeway ? TimeSpan.FromSeconds(30) : null,
        });
        var direct = new DirectClient(server);
        await direct.RegisterAsync();
        var tokens = await direct.AuthorizeAsync("reuse-counter", "api.read");

        var first = await direct.RefreshAsync(tokens.RefreshToken!);
        Assert.NotNull(first);
        await direct.RefreshAsync(first.RefreshToken!); // a rotated token once: no reuse
        Assert.Equal(0, server.Stats.RefreshTokenReuses);
        Assert.Equal(1, server.Stats.MostPresentationsOfOneRefreshToken);

        var replay = await direct.RefreshAsync(tokens.RefreshToken!);

        Assert.Equal(leeway, replay is not null);
        Assert.Equal(1, server.Stats.RefreshTokenReuses);
        Assert.Equal(2, server.Stats.MostPresentationsOfOneRefreshToken);
        Assert.InRange(server.Stats.LongestReuseDelay, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(30));
    }
}
