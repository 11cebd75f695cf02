using System.Diagnostics;
using Broker.Testing;
using Broker.Testing.Hosting;
using Broker.V1;
using Grpc.Core;

namespace Broker.Silo.Tests.Cluster;

/// <summary>
/// Silos serve a family's token from their own leased copy (no grain call), yet once a revocation or a refresh through
/// another silo has returned, no silo hands out the old token: readers hammer silo B while silo A revokes or refreshes.
/// The lease is 1 s here (200 ms by default), so a copy served past the change could not go unseen.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ServedTokenLeaseTests(ClusterInfrastructure infrastructure)
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Broker:Families:ServedTokenLease"] = "00:00:01",
        ["Broker:Families:MinForcedRefreshInterval"] = "00:00:00",
    };

    [Fact]
    public async Task No_silo_serves_a_family_token_once_its_revocation_through_another_silo_returned()
    {
        var startSilo = await infrastructure.NewClusterAsync(settings: Settings);
        await using var a = await startSilo();
        await using var b = await startSilo();
        await AuthorizationFlow.AuthorizeAsync(a, "test", "lease-revoked", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "lease-revoked" };
        var held = await b.Client.GetAccessTokenAsync(request);
        using var metrics = MeterCapture.ForSilo(b.Services);

        var readers = new Readers(b, request);
        await Task.Delay(400);
        await a.Client.RevokeFamilyAsync(new RevokeFamilyRequest { Provider = "test", Subject = "lease-revoked" });
        var (late, before) = await readers.StopAfterAsync(TimeSpan.FromMilliseconds(1500));

        // Counted, not listed: an assertion message must not print tokens.
        Assert.True(late.Count == 0, $"{late.Count} calls that started after the revocation returned were handed a token");
        Assert.All(before, token => TokenAssert.Same(held.AccessToken_, token));
        Assert.True(metrics.Sum("broker.tokens.served", ("source", "lease")) > 0, "silo B never served its leased copy");
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, "REAUTHORIZATION_REQUIRED", () => b.Client.GetAccessTokenAsync(request).ResponseAsync);
    }

    [Fact]
    public async Task No_silo_serves_the_old_token_once_a_refresh_through_another_silo_returned()
    {
        var startSilo = await infrastructure.NewClusterAsync(settings: Settings);
        await using var a = await startSilo();
        await using var b = await startSilo();
        await AuthorizationFlow.AuthorizeAsync(a, "test", "lease-rotated", "api.read");
        var request = new GetAccessTokenRequest { Provider = "test", Subject = "lease-rotated" };
        var held = await b.Client.GetAccessTokenAsync(request);
        using var metrics = MeterCapture.ForSilo(b.Services);

        var readers = new Readers(b, request);
        await Task.Delay(400);
        var refreshed = await a.Client.GetAccessTokenAsync(new GetAccessTokenRequest { Provider = "test", Subject = "lease-rotated", ForceRefresh = true });
        var (late, _) = await readers.StopAfterAsync(TimeSpan.FromMilliseconds(1500));

        Assert.Equal("refresh", refreshed.Source);
        TokenAssert.Different(held.AccessToken_, refreshed.AccessToken_);
        Assert.NotEmpty(late);
        var stale = late.Count(token => token != refreshed.AccessToken_);
        Assert.True(stale == 0, $"{stale} of {late.Count} calls that started after the refresh returned were handed the old token");
        Assert.True(metrics.Sum("broker.tokens.served", ("source", "lease")) > 0, "silo B never served its leased copy");
    }

    /// <summary>Eight tasks calling one silo in a loop; each answer is sorted by whether its call started after the change returned.</summary>
    private sealed class Readers
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<List<(long Started, string? Token)>>[] _tasks;

        public Readers(BrokerSilo silo, GetAccessTokenRequest request) =>
            _tasks = [.. Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                var answers = new List<(long, string?)>();
                while (!_stop.IsCancellationRequested)
                {
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        answers.Add((started, (await silo.Client.GetAccessTokenAsync(request)).AccessToken_));
                    }
                    catch (RpcException)
                    {
                        answers.Add((started, null));
                    }
                }
                return answers;
            }))];

        /// <summary>Marks now as the moment the change returned, lets the readers go on for a while, and sorts their answers.</summary>
        public async Task<(List<string> After, List<string> Before)> StopAfterAsync(TimeSpan more)
        {
            var changed = Stopwatch.GetTimestamp();
            await Task.Delay(more);
            await _stop.CancelAsync();
            var answers = (await Task.WhenAll(_tasks)).SelectMany(a => a).ToList();
            return ([.. answers.Where(a => a.Started > changed && a.Token is not null).Select(a => a.Token!)],
                [.. answers.Where(a => a.Started <= changed && a.Token is not null).Select(a => a.Token!)]);
        }
    }
}
