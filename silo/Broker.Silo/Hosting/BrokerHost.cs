using System.Net;
using Broker.Abstractions.Settings;
using Broker.Grains;
using Broker.Grains.Storage;
using Broker.OAuth;
using Broker.OAuth.Providers;
using Broker.Silo.Api;
using Broker.Silo.Callback;
using Broker.Silo.Audit;
using Broker.Silo.Callers;
using Broker.Silo.Cluster;
using Broker.Silo.Events;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Broker.Silo.Health;
using Broker.Silo.Storage;
using Broker.Silo.Telemetry;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using StackExchange.Redis;

namespace Broker.Silo.Hosting;

/// <summary>
/// Builds the broker's process: Orleans silo, gRPC API, callback and health on Kestrel. Tests build it the
/// same way, with their own configuration, so what they run is what ships.
/// </summary>
public static class BrokerHost
{
    private const string ReadyTag = "ready";

    private static LogLevel AtLeastInformation(string? configured) =>
        Enum.TryParse<LogLevel>(configured, ignoreCase: true, out var level) && level > LogLevel.Information ? level : LogLevel.Information;

    public static WebApplication Build(string[] args, Action<IConfigurationBuilder>? configure = null,
        Action<WebApplicationBuilder>? customize = null)
    {
        // The silo's own folder, not the working directory: a silo started from elsewhere (the repository's root, a
        // service manager) still reads the appsettings.json shipped beside it. StartAsync names it.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddEnvironmentVariables(); // Broker__Mode, Broker__Providers__x__ClientId, ...
        configure?.Invoke(builder.Configuration);
        builder.Configuration.AddCommandLine(args);
        // ASP.NET Core logs every request's URL at Information, and the callback's URL carries the authorization
        // code and state. Those lines must never be written, whatever the configured log level. None, not Warning:
        // while any level of this logger is on, ASP.NET Core starts an Activity for every request (5 % of a cache
        // hit's CPU) that nothing records; a failed start still ends the process with its exception.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // Orleans' own Debug and Trace messages name grain ids, and a family's id holds the subject (personal data):
        // they are not written, whatever the configured level; a configured level above Information is kept.
        // (Its spans are redacted instead: GrainIdRedaction.)
        builder.Logging.AddFilter("Orleans", AtLeastInformation(
            builder.Configuration["Logging:LogLevel:Orleans"] ?? builder.Configuration["Logging:LogLevel:Default"]));
        // The audit trail is not verbosity: a quiet Logging:LogLevel:Default must not silence it.
        builder.Logging.AddFilter("Broker.Audit", LogLevel.Information);
        // Defaults that leave an operator what matters, each overridable under Logging:LogLevel: Polly logs every
        // retry of Orleans' placement at Information (a quarter of all lines of a short session), and the watchdog
        // warns of a "participant check" that has "not completed" for the time since the process began, at every start.
        builder.Logging.AddFilter("Polly", Configured(builder.Configuration, "Polly") ?? LogLevel.Warning);
        builder.Logging.AddFilter("Orleans.Runtime.Watchdog", Configured(builder.Configuration, "Orleans.Runtime.Watchdog") ?? LogLevel.Error);
        customize?.Invoke(builder);

        // What shapes the host itself (mode, ports, exporters) is read and validated now; the rest at start.
        // Every wrong setting is named at once: those read now, and when any is wrong, those validated at start too.
        var services = builder.Services;
        var configuration = builder.Configuration;
        var failures = new List<string>(ListSettings.Misgiven(configuration));
        var mode = Now(failures, () => services.AddBrokerOptionsNow(configuration, BrokerHostOptions.Section, new BrokerHostOptionsValidator()).Mode);
        var cluster = Now(failures, () => services.AddBrokerOptionsNow(configuration, ClusterModeOptions.Section, new ClusterModeOptionsValidator(mode)));
        var http = Now(failures, () => services.AddBrokerOptionsNow(configuration, HttpEndpointOptions.Section, new HttpEndpointOptionsValidator()));
        var telemetry = Now(failures, () => services.AddBrokerOptionsNow(configuration, TelemetryOptions.Section, new TelemetryOptionsValidator()));
        var audit = Now(failures, () => services.AddBrokerOptionsNow(configuration, AuditOptions.Section, new AuditOptionsValidator()));
        Now(failures, () => { builder.AddBrokerCallers(mode, http); });
        if (failures.Count > 0)
        {
            failures.AddRange(FailuresAtStart(configuration, mode));
            throw new OptionsValidationException(BrokerHostOptions.Section, typeof(BrokerHostOptions), failures.Distinct().ToList());
        }

        builder.Services.AddSingleton(new BrokerHostOptions { Mode = mode });
        builder.AddBrokerAudit(audit);
        builder.Services.PostConfigure<RedirectOptions>(o => o.PublicBaseUrl ??= $"http://{FormatHost(http.BindAddress)}:{http.HttpPort}");

        builder.Services.AddBrokerOAuth(builder.Configuration);
        builder.Services.AddBrokerEvents(builder.Configuration, mode, cluster.PostgreSql);
        builder.Services.AddBrokerGrains(builder.Configuration, ephemeralKeys: mode == BrokerMode.Embedded);
        // JSON transcoding serves the same methods as JSON on the gRPC port (curl --http2-prior-knowledge), never on
        // the browser-facing HTTP port, which may be public for redirects.
        // The error details (ErrorInfo, RetryInfo) must be in the type registry, or a JSON error answer cannot be written.
        builder.Services.AddBrokerOptions<MembershipWatchOptions, MembershipWatchOptionsValidator>(configuration, MembershipWatchOptions.Section);
        builder.Services.AddSingleton<ClusterMembership>();
        builder.Services.AddSingleton<GrainReferences>();
        builder.Services.AddSingleton(sp => new ServedTokenCache<Broker.Abstractions.Identity.FamilyKey>(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new ServedTokenCache<Broker.Abstractions.Identity.ClientTokenKey>(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddBrokerOptions<Api.DpopProofOptions, Api.DpopProofOptionsValidator>(configuration, Api.DpopProofOptions.Section);
        builder.Services.AddSingleton<Api.ProofRateLimiter>();
        if (mode == BrokerMode.Cluster) builder.Services.AddHostedService<MembershipWatch>();
        // A singleton: registered as a type only, gRPC would build the interceptor anew for every call.
        builder.Services.AddSingleton<FailureStatuses>();
        builder.Services.AddSingleton<CallerGate>();
        builder.Services.AddSingleton<BrokerCallInterceptor>();
        // The service too: unregistered, gRPC builds it for every call, resolving its ten dependencies (all singletons).
        builder.Services.AddSingleton<TokenBrokerService>();
        builder.Services.AddGrpc(o =>
            {
                o.IgnoreUnknownServices = true; // no fallback routes: UnknownGrpcMethods answers instead
                o.Interceptors.Add<BrokerCallInterceptor>();
            })
            .AddJsonTranscoding(o => o.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromMessages(
                Google.Rpc.ErrorInfo.Descriptor, Google.Rpc.RetryInfo.Descriptor));
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton<ProviderProbe>();
        var health = builder.Services.AddHealthChecks()
            .AddCheck<MembershipHealthCheck>("membership", tags: [ReadyTag])
            .AddCheck<ProvidersHealthCheck>("providers", tags: [ReadyTag]);
        if (mode == BrokerMode.Cluster)
        {
            health.AddCheck("postgresql", new PostgreSqlHealthCheck(cluster.PostgreSql!), tags: [ReadyTag])
                .AddCheck("redis", new RedisHealthCheck(cluster.Redis!), tags: [ReadyTag]);
        }
        builder.AddBrokerTelemetry(telemetry);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = IPAddress.Parse(http.BindAddress);
            kestrel.Listen(address, http.GrpcPort, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                if (http.TlsCertificatePath is { } certificate)
                {
                    l.UseHttps(X509Certificate2.CreateFromPemFile(certificate, http.TlsKeyPath), tls =>
                    {
                        if (http.ClientCertificateAuthorityPath is null) return;
                        // Asked for, not required: API keys and JWTs still work; the certificate scheme checks the chain.
                        tls.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                        tls.AllowAnyClientCertificate();
                    });
                }
            });
            kestrel.Listen(address, http.HttpPort, l => l.Protocols = HttpProtocols.Http1);
        });

        builder.UseOrleans(silo =>
        {
            // Orleans' own reminder options (MinimumReminderPeriod, ...) under Broker:Reminders.
            silo.Services.Configure<ReminderOptions>(builder.Configuration.GetSection("Broker:Reminders"));
            // And its failure detection (ProbeTimeout, NumMissedProbesLimit, ...) under Broker:Membership.
            silo.Services.Configure<ClusterMembershipOptions>(builder.Configuration.GetSection("Broker:Membership"));
            // One trace from the gRPC call through the grain call to the authorization server.
            silo.AddActivityPropagation();
            // broker-ops reads each silo's circuit breakers through a grain placed on that silo.
            silo.AddPlacementDirector<Broker.Grains.Operations.OnSiloPlacement, Broker.Grains.Operations.OnSiloPlacementDirector>();
            if (mode == BrokerMode.Embedded)
            {
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort);
                // Orleans' binary format, as the grains' state takes in cluster mode, not the default Newtonsoft JSON: that
                // was a tenth of the embedded silo's CPU in a pinned refresh storm.
                silo.AddMemoryGrainStorage(BrokerStorage.Name, (OptionsBuilder<MemoryGrainStorageOptions> memory) =>
                    memory.Configure<Orleans.Serialization.Serializer>((o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
                silo.UseInMemoryReminderService();
            }
            else
            {
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = cluster.ClusterId;
                    o.ServiceId = cluster.ServiceId;
                });
                silo.ConfigureEndpoints(AdvertisedAddress(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort);
                silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.Redis!));
                // Keep-alive reminders must outlive any one silo.
                silo.UseRedisReminderService(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.Redis!));
                silo.AddAdoNetGrainStorage(BrokerStorage.Rows, (AdoNetGrainStorageOptions o) =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = cluster.PostgreSql;
                    o.GrainStorageSerializer = new StoredRowSerializer();
                });
                // Each row: Orleans' binary format with [Id]-numbered fields (version tolerant; every secret field
                // already encrypted by the grains), sealed as a whole with a MAC bound to its grain and a sequence.
                silo.Services.AddKeyedSingleton<IGrainStorage>(BrokerStorage.Name, (services, _) =>
                    AuthenticatedGrainStorage.Over(services, BrokerStorage.Rows));
            }
        });

        var app = builder.Build();
        var grpc = new ServedOnPort(http.GrpcPort);
        var web = new ServedOnPort(http.HttpPort);
        // Browser-facing answers only: gRPC callers ignore these headers, and the hot path should not pay for them.
        app.UseWhen(context => context.Connection.LocalPort == http.HttpPort, web => web.UseMiddleware<SecurityHeadersMiddleware>());
        app.UseRouting();
        // Each endpoint answers on its own listener only. Not RequireHost: that reads the Host header, which the
        // caller writes, so the gRPC API (and its JSON form) could be reached on the plain HTTP port.
        app.Use((context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<ServedOnPort>() is { } served && served.Port != context.Connection.LocalPort)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            return next(context);
        });
        app.UseUnimplementedForUnknownGrpcMethods(http.GrpcPort);
        app.MapGrpcService<TokenBrokerService>().WithMetadata(grpc);
        app.MapGrpcHealthChecksService().WithMetadata(grpc);
        app.MapGrpcReflectionService().WithMetadata(grpc);
        app.MapAuthorizationCallback().WithMetadata(web);
        // Live: the process answers. Ready: storage, clustering, membership, providers (a provider down = degraded, 200).
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithMetadata(web);
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = ReadinessReport.WriteAsync }).WithMetadata(web);
        if (telemetry.Prometheus) app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(web);
        return app;
    }

    /// <summary>
    /// Validates every setting checked at start now, so that a wrong one stops the process with its name only (the
    /// host would first log its own "Hosting failed to start" with a stack trace).
    /// </summary>
    public static void ValidateSettings(WebApplication app) => app.Services.GetService<IStartupValidator>()?.Validate();

    /// <summary>Starts the host after the checks that must pass first (settings; the schema, in cluster mode).</summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        var mode = app.Services.GetRequiredService<BrokerHostOptions>().Mode;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Broker.Silo");
        ValidateSettings(app);
        var environment = app.Services.GetRequiredService<IWebHostEnvironment>();
        var settingsFile = Path.Combine(environment.ContentRootPath, "appsettings.json");
        logger.LogInformation("Settings: {SettingsFile} ({Found}), then Broker__... environment variables, then --Broker:... arguments.",
            settingsFile, File.Exists(settingsFile) ? "read" : "absent");
        if (mode == BrokerMode.Cluster)
        {
            var cluster = app.Services.GetRequiredService<IOptions<ClusterModeOptions>>().Value;
            await SchemaMigrator.EnsureCurrentAsync(cluster.PostgreSql!, cancellationToken);
            if (app.Services.GetRequiredService<IOptions<Grains.Protection.EncryptionOptions>>().Value.AcceptUnauthenticatedState)
            {
                logger.LogWarning(
                    "Broker:Encryption:AcceptUnauthenticatedState is on: rows without a seal are read, so whoever can write the database can strip one. Run broker-ops keys reencrypt, then turn it off.");
            }
        }
        else
        {
            logger.LogWarning(
                "Broker runs in EMBEDDED mode: one silo, in-memory storage and an ephemeral encryption key. NOTHING IS DURABLE: every token is lost when this process stops. Set Broker:Mode=Cluster for production.");
        }
        var callers = app.Services.GetRequiredService<CallerRegistry>();
        if (callers.IsOpenForDevelopment)
            logger.LogWarning("No caller is configured (Broker:Callers): every gRPC call is accepted as the 'development' caller. Embedded mode only; cluster mode denies every call until callers are configured.");
        else if (callers.Count == 0)
            logger.LogWarning("No caller is configured (Broker:Callers): every gRPC call will be refused with UNAUTHENTICATED.");
        await app.StartAsync(cancellationToken);
        var http = app.Services.GetRequiredService<IOptions<HttpEndpointOptions>>().Value;
        await ProviderStates.LogAsync(app.Services.GetRequiredService<ProviderProbe>(), logger, cancellationToken);
        logger.LogInformation("Broker listening: gRPC on {Address}:{GrpcPort}, HTTP on {Address}:{HttpPort}.",
            http.BindAddress, http.GrpcPort, http.BindAddress, http.HttpPort);
    }

    private static LogLevel? Configured(IConfiguration configuration, string category) =>
        Enum.TryParse<LogLevel>(configuration[$"Logging:LogLevel:{category}"], ignoreCase: true, out var level) ? level : null;

    /// <summary>Reads settings needed now; a wrong one is collected (and a default used) so that all are named.</summary>
    private static T Now<T>(List<string> failures, Func<T> read) where T : new()
    {
        try
        {
            return read();
        }
        catch (OptionsValidationException ex)
        {
            failures.AddRange(ex.Failures);
            return new T();
        }
    }

    private static void Now(List<string> failures, Action read) => Now(failures, () => { read(); return new object(); });

    /// <summary>The failures the host would report at start (providers, encryption keys, families, ...), found now.</summary>
    private static IReadOnlyList<string> FailuresAtStart(IConfiguration configuration, BrokerMode mode)
    {
        var services = new ServiceCollection().AddLogging();
        services.PostConfigure<RedirectOptions>(o => o.PublicBaseUrl ??= "http://127.0.0.1");
        services.AddBrokerOAuth(configuration);
        services.AddBrokerGrains(configuration, ephemeralKeys: mode == BrokerMode.Embedded);
        using var provider = services.BuildServiceProvider();
        try
        {
            provider.GetService<IStartupValidator>()?.Validate();
            return [];
        }
        catch (Exception ex)
        {
            return InvalidSettings.From(ex);
        }
    }

    /// <summary>Endpoint metadata: the one local port an endpoint answers on.</summary>
    private sealed record ServedOnPort(int Port);

    private static IPAddress AdvertisedAddress(string value) =>
        IPAddress.TryParse(value, out var ip)
            ? ip
            : Dns.GetHostAddresses(value).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
              ?? throw new OptionsValidationException(ClusterModeOptions.Section, typeof(ClusterModeOptions),
                  [$"{ClusterModeOptions.Section}:AdvertisedAddress '{value}' does not resolve to an IPv4 address."]);

    private static string FormatHost(string address) =>
        IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{address}]" : address;
}
