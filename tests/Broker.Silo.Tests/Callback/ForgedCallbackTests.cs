using System.Net;
using Broker.Silo.Hosting;
using Broker.Silo.Storage;
using Broker.Silo.Tests.Cluster;
using Broker.Testing.Hosting;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;

namespace Broker.Silo.Tests.Callback;

/// <summary>
/// Anyone can load the redirect URI with a state of their making. A state the broker did not issue must cost
/// nothing: refused before any grain is activated or any row is read or written, on the real PostgreSQL.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ForgedCallbackTests(ClusterInfrastructure infrastructure) : IAsyncLifetime
{
    private const int Forgeries = 20_000;
    private string _database = null!;
    private BrokerSilo _silo = null!;

    public async Task InitializeAsync()
    {
        _database = await infrastructure.Postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(_database);
        var id = $"c{Guid.NewGuid():N}";
        _silo = await BrokerSilo.StartAsync(new BrokerSiloSettings
        {
            Mode = BrokerMode.Cluster, PostgreSql = _database, Redis = infrastructure.Redis.Configuration, ClusterId = id, ServiceId = id,
            EncryptionKey = BrokerSiloSettings.NewEncryptionKey(), Settings = ProviderSettings.For("test", infrastructure.Server),
        });
        await infrastructure.Server.AddRedirectUriAsync("broker", _silo.RedirectUri("test"));
    }

    [Fact]
    public async Task Forged_and_mangled_states_are_refused_without_activations_or_rows()
    {
        var redirect = await AuthorizationFlow.ObtainRedirectAsync(_silo, "test", "forged-callbacks", ["api.read"]);
        var issued = QueryHelpers.ParseQuery(redirect.Query)["state"].ToString();
        var rowsBefore = await CountRowsAsync();
        var activationsBefore = await GrainActivations.CountAsync(_silo.Grains);
        var grants = infrastructure.Server.Stats.AuthorizationCodeGrants;

        var refused = 0;
        var other = new List<string>();
        await Parallel.ForEachAsync(Forged(issued).Take(Forgeries), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (state, ct) =>
        {
            using var response = await AuthorizationFlow.DeliverAsync(_silo, AuthorizationFlow.WithParameter(redirect, "state", state));
            var page = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode == HttpStatusCode.BadRequest && page.Contains("INVALID_STATE", StringComparison.Ordinal))
                Interlocked.Increment(ref refused);
            else
                lock (other) other.Add($"{(int)response.StatusCode}");
        });

        Assert.True(refused == Forgeries, $"{refused} of {Forgeries} refused; others answered {string.Join(",", other.Distinct())}");
        var activationsAfter = await GrainActivations.CountAsync(_silo.Grains);
        foreach (var (type, count) in activationsAfter.Where(a => a.Key.Contains("Broker", StringComparison.Ordinal)))
        {
            Assert.True(count <= activationsBefore.GetValueOrDefault(type),
                $"{type} gained activations; before: {GrainActivations.Describe(activationsBefore)}; after: {GrainActivations.Describe(activationsAfter)}");
        }
        Assert.Equal(rowsBefore, await CountRowsAsync());
        Assert.Equal(grants, infrastructure.Server.Stats.AuthorizationCodeGrants);

        // The state the broker did issue still completes.
        using var genuine = await AuthorizationFlow.DeliverAsync(_silo, redirect);
        Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);
    }

    /// <summary>Random states of the issued shape, the issued state with one character changed, and junk.</summary>
    private static IEnumerable<string> Forged(string issued)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var random = new Random(12);
        for (var i = 0; ; i++)
        {
            var chars = issued.ToCharArray();
            switch (i % 3)
            {
                case 0:
                    for (var c = 0; c < chars.Length; c++) chars[c] = alphabet[random.Next(alphabet.Length)];
                    break;
                case 1:
                    var at = random.Next(chars.Length);
                    chars[at] = alphabet[(alphabet.IndexOf(chars[at], StringComparison.Ordinal) + 1 + random.Next(alphabet.Length - 1)) % alphabet.Length];
                    break;
                default:
                    chars = new char[1 + random.Next(40)];
                    for (var c = 0; c < chars.Length; c++) chars[c] = alphabet[random.Next(alphabet.Length)];
                    break;
            }
            var state = new string(chars);
            if (state != issued) yield return state;
        }
    }

    private async Task<long> CountRowsAsync()
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM orleansstorage", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync() => await _silo.DisposeAsync();
}
