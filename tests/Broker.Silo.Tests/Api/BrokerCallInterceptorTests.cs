using System.Security.Claims;
using Broker.Abstractions;
using Broker.Abstractions.Identity;
using Broker.Silo.Api;
using Broker.Silo.Audit;
using Broker.Silo.Callers;
using Broker.Silo.Cluster;
using Broker.Testing;
using Broker.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broker.Silo.Tests.Api;

/// <summary>
/// Whether the caller is found at once or later (an authentication handler that answers later, as the JWT handler may)
/// and whether the service answers or refuses at once or later, the call is answered, or refused with its typed
/// status, and audited once under its caller.
/// </summary>
public sealed class BrokerCallInterceptorTests
{
    private const string GetAccessTokenPath = "/broker.v1.TokenBroker/GetAccessToken";
    private readonly CapturingLoggerProvider _logs = new();
    private readonly BrokerCallInterceptor _interceptor;

    public BrokerCallInterceptorTests()
    {
        var registry = new CallerRegistry(new Dictionary<string, CallerOptions>
        {
            ["billing"] = new() { Providers = ["*"], Subjects = ["*"], Scopes = ["*"] },
        }, openForDevelopment: false);
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var audit = new AuditLog(LoggerFactory.Create(b => b.AddProvider(_logs)), new Broker.Grains.Telemetry.BrokerMetrics(meters));
        var gate = new CallerGate(new CallerAuthenticator(registry, acceptsJwt: true, acceptsCertificates: false), audit, new FamilyLogId(new byte[32]));
        _interceptor = new BrokerCallInterceptor(new ClusterMembership(TimeProvider.System, Options.Create(new MembershipWatchOptions())),
            gate, new FailureStatuses(NullLogger<FailureStatuses>.Instance));
    }

    public enum Answer { AtOnce, Later, RefusedAtOnce, RefusedLater }

    public static TheoryData<bool, Answer> Calls()
    {
        var calls = new TheoryData<bool, Answer>();
        foreach (var callerLater in new[] { false, true })
            foreach (var answer in Enum.GetValues<Answer>()) calls.Add(callerLater, answer);
        return calls;
    }

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task Every_call_is_answered_or_typed_and_audited_once_under_its_caller(bool callerFoundLater, Answer answer)
    {
        var context = new Call(callerFoundLater);
        UnaryServerMethod<GetAccessTokenRequest, AccessToken> service = answer switch
        {
            Answer.AtOnce => (_, c) => Task.FromResult(Served(c)),
            Answer.Later => async (_, c) => { await Task.Yield(); return Served(c); },
            Answer.RefusedAtOnce => (_, c) => { Refuse(c); return Task.FromResult(new AccessToken()); },
            _ => async (_, c) => { await Task.Yield(); Refuse(c); return new AccessToken(); },
        };

        if (answer is Answer.AtOnce or Answer.Later)
        {
            var token = await _interceptor.UnaryServerHandler(new GetAccessTokenRequest(), context, service);
            Assert.Equal("cache", token.Source);
            var audited = Assert.Single(_logs.Entries, e => e.StartsWith("Broker.Audit", StringComparison.Ordinal));
            Assert.Contains("#6000 ", audited, StringComparison.Ordinal);
            Assert.Contains("Caller=billing", audited, StringComparison.Ordinal);
        }
        else
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler(new GetAccessTokenRequest(), context, service));
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            var audited = Assert.Single(_logs.Entries, e => e.StartsWith("Broker.Audit", StringComparison.Ordinal));
            Assert.Contains("#6012 ", audited, StringComparison.Ordinal);
            Assert.Contains("Caller=billing", audited, StringComparison.Ordinal);
            Assert.Contains("Reason=INVALID_ARGUMENT", audited, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_call_without_a_caller_is_unauthenticated_before_the_service_runs(bool refusedLater)
    {
        var context = new Call(refusedLater, caller: null);
        var ran = false;

        var refused = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler(new GetAccessTokenRequest(), context,
            (_, _) => { ran = true; return Task.FromResult(new AccessToken()); }));

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.False(ran);
        Assert.Single(_logs.Entries, e => e.StartsWith("Broker.Audit", StringComparison.Ordinal) && e.Contains("#6011 ", StringComparison.Ordinal));
    }

    // The service's side: it finds the caller the interceptor attached, as TokenBrokerService does.
    private static AccessToken Served(ServerCallContext context)
    {
        CallerContext.Of(context).Demand(ProviderName.Parse("test"), Subject.Parse("someone"));
        return new AccessToken { AccessToken_ = "at", Source = "cache" };
    }

    private static void Refuse(ServerCallContext context)
    {
        CallerContext.Of(context).Demand(ProviderName.Parse("test"), Subject.Parse("someone"));
        throw new BrokerException(BrokerErrorReason.InvalidArgument, "refused for the test.");
    }

    /// <summary>A TokenBroker call over HTTP/2 as gRPC presents it, carrying a JWT-shaped bearer credential.</summary>
    private sealed class Call : ServerCallContext
    {
        public Call(bool callerFoundLater, string? caller = "billing")
        {
            var http = new DefaultHttpContext
            {
                RequestServices = new ServiceCollection()
                    .AddSingleton<IAuthenticationService>(new Handler(callerFoundLater, caller)).BuildServiceProvider(),
            };
            http.Request.Headers.Authorization = "Bearer header.payload.signature";
            UserState["__HttpContext"] = http; // where GetHttpContext() finds it outside a server
        }

        protected override string MethodCore => GetAccessTokenPath;
        protected override string HostCore => "localhost";
        protected override string PeerCore => "ipv4:127.0.0.1:1";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore { get; } = [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);
        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }

    /// <summary>The JWT handler's place: names the caller (or nobody) at once or after a turn of the thread pool.</summary>
    private sealed class Handler(bool later, string? caller) : IAuthenticationService
    {
        public async Task<AuthenticateResult> AuthenticateAsync(HttpContext context, string? scheme)
        {
            if (later) await Task.Yield();
            return caller is null
                ? AuthenticateResult.Fail("rejected")
                : AuthenticateResult.Success(new AuthenticationTicket(CallerRegistry.PrincipalFor(caller, scheme!), scheme!));
        }

        public Task ChallengeAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => throw new NotSupportedException();
        public Task ForbidAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => throw new NotSupportedException();
        public Task SignInAsync(HttpContext context, string? scheme, ClaimsPrincipal principal, AuthenticationProperties? properties) => throw new NotSupportedException();
        public Task SignOutAsync(HttpContext context, string? scheme, AuthenticationProperties? properties) => throw new NotSupportedException();
    }
}
