using Npgsql;

namespace Broker.Testing.Processes;

/// <summary>
/// A real PostgreSQL server for tests: the one named by BROKER_TEST_POSTGRES (an admin connection string),
/// or a private cluster made with initdb in a temporary folder on a free loopback port. As root, the cluster
/// runs as the unprivileged 'postgres' user, because initdb refuses root.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string? _dataDirectory;
    private readonly string? _runAs;
    private readonly string? _binaries;

    private readonly string? _given;
    private int _port;

    private PostgresServer(string? given, string? dataDirectory, string? runAs, string? binaries)
    {
        _given = given;
        _dataDirectory = dataDirectory;
        _runAs = runAs;
        _binaries = binaries;
    }

    public string AdminConnectionString => _given ?? $"Host=127.0.0.1;Port={_port};Username=postgres;Database=postgres";

    /// <summary>
    /// Starts a private server on a free port, and on another when the bind lost the race for it (<see cref="FreePort"/>).
    /// A <paramref name="pinnedPort"/> always starts a private server (BROKER_TEST_POSTGRES aside), tried once: if the
    /// port is taken, <see cref="PortTakenException"/>.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(int? pinnedPort = null)
    {
        if (pinnedPort is null && Environment.GetEnvironmentVariable("BROKER_TEST_POSTGRES") is { Length: > 0 } given)
            return new PostgresServer(given, null, null, null);

        var binaries = FindBinaries();
        var root = Path.Combine(Path.GetTempPath(), $"broker-pg-{Guid.NewGuid():N}");
        var data = Path.Combine(root, "data");
        var sockets = Path.Combine(root, "run");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(sockets);
        string? runAs = null;
        if (ExternalProcess.IsRoot)
        {
            runAs = "postgres";
            await ExternalProcess.RunAsync("chown", ["-R", "postgres:postgres", root]);
            await ExternalProcess.RunAsync("chmod", ["700", data]);
        }
        await ExternalProcess.RunAsync(Path.Combine(binaries, "initdb"),
            ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], runAs);
        var server = new PostgresServer(null, root, runAs, binaries);
        for (var attempt = 1; ; attempt++)
        {
            server._port = pinnedPort ?? FreePort.Next();
            var logged = server.LogLength();
            try
            {
                await server.StartAgainAsync();
                return server;
            }
            catch (InvalidOperationException ex)
            {
                var lostRace = FreePort.LostRace(server.LogSince(logged));
                // Another process took the port between FreePort and the postmaster's bind: try another.
                if (lostRace && pinnedPort is null && attempt < FreePort.Attempts) continue;
                await server.DisposeAsync();
                if (lostRace) throw new PortTakenException($"PostgreSQL could not bind port {server._port}", ex);
                throw;
            }
        }
    }

    private string LogPath => Path.Combine(_dataDirectory!, "run", "pg.log");

    private long LogLength() => File.Exists(LogPath) ? new FileInfo(LogPath).Length : 0;

    private string LogSince(long offset)
    {
        if (!File.Exists(LogPath)) return "";
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(offset, SeekOrigin.Begin);
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>) on the same port and data.</summary>
    public async Task StartAgainAsync()
    {
        if (_dataDirectory is null) throw new InvalidOperationException("cannot start a server this fixture did not start.");
        var sockets = Path.Combine(_dataDirectory, "run");
        // fsync off: test data need not survive a power cut, and it keeps a 2-core CI machine fast. synchronous_commit
        // stays on: tests crash the server (StopAsync is an immediate stop) and a commit must survive that, as in any
        // deployment; off, the last commits were lost at the crash and the broker rightly reported the rolled-back row
        // as DATA_LOSS (DurabilityTests failed under load).
        await ExternalProcess.RunAsync(Path.Combine(_binaries!, "pg_ctl"),
            ["-D", Path.Combine(_dataDirectory, "data"), "-l", Path.Combine(sockets, "pg.log"), "-w", "-t", "60",
             "-o", $"-p {_port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300",
             "start"], _runAs);
    }

    /// <summary>Creates a fresh database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= $"broker_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Stops the server (for tests of what happens when the database goes away).</summary>
    public async Task StopAsync()
    {
        if (_dataDirectory is null) throw new InvalidOperationException("cannot stop a server this fixture did not start.");
        NpgsqlConnection.ClearAllPools();
        await ExternalProcess.RunAsync(Path.Combine(_binaries!, "pg_ctl"),
            ["-D", Path.Combine(_dataDirectory, "data"), "-m", "immediate", "-w", "stop"], _runAs);
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataDirectory is null) return;
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("BROKER_TEST_PG_BIN") is { Length: > 0 } bin) return bin;
        const string debian = "/usr/lib/postgresql";
        var found = Directory.Exists(debian)
            ? Directory.GetDirectories(debian).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            : null;
        return found ?? throw new InvalidOperationException(
            "PostgreSQL server binaries not found: install postgresql (Debian) or set BROKER_TEST_PG_BIN, or give a server in BROKER_TEST_POSTGRES.");
    }
}
