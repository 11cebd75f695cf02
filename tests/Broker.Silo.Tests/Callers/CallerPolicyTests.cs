using Broker.Abstractions;
using Broker.Abstractions.Identity;
using Broker.Silo.Callers;
using Xunit;

namespace Broker.Silo.Tests.Callers;

public sealed class CallerPolicyTests
{
    private static readonly ProviderName Test = ProviderName.Parse("test");
    private static readonly ProviderName Other = ProviderName.Parse("other");

    private static readonly CallerAction Read = CallerAction.Named("GetAccessToken");

    private static Caller Reader() => new("reader", new CallerOptions
    {
        Providers = ["test"],
        Subjects = ["team-a/*", "alice"],
        Scopes = ["api.read"],
    });

    [Fact]
    public void Nothing_is_granted_by_default()
    {
        var nobody = new Caller("nobody", new CallerOptions());
        foreach (var action in CallerAction.All)
            Assert.NotNull(nobody.Denial(action, Test, Subject.Parse("alice"), null));
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("alice2", false)]
    [InlineData("team-a/bob", true)]
    [InlineData("team-a", false)]
    [InlineData("team-b/bob", false)]
    public void Subjects_match_exactly_or_by_prefix(string subject, bool allowed) =>
        Assert.Equal(allowed, Reader().Denial(Read, Test, Subject.Parse(subject), null) is null);

    [Fact]
    public void Providers_and_scopes_outside_the_grant_are_denied()
    {
        var reader = Reader();
        var alice = Subject.Parse("alice");
        Assert.Null(reader.Denial(Read, Test, alice, ScopeSet.Parse(["api.read"])));
        Assert.NotNull(reader.Denial(Read, Other, alice, null));
        Assert.NotNull(reader.Denial(Read, Test, alice, ScopeSet.Parse(["api.read", "api.write"])));
    }

    [Theory]
    [InlineData("GetClientToken")]
    [InlineData("BeginAuthorization")]
    [InlineData("ImportTokens")]
    [InlineData("RevokeFamily")]
    public void Actions_beyond_reading_need_their_own_grant(string method)
    {
        var ex = Assert.Throws<BrokerException>(() => Reader().Demand(CallerAction.Named(method), Test, Subject.Parse("alice")));
        Assert.Equal(BrokerErrorReason.PermissionDenied, ex.Reason);
    }

    [Fact]
    public void Wildcards_grant_everything_they_name()
    {
        var admin = new Caller("admin", new CallerOptions
        {
            Providers = ["*"], Subjects = ["*"], Scopes = ["*"],
            MayGetClientTokens = true, MayBeginAuthorization = true, MayImport = true, MayRevoke = true,
        });
        foreach (var action in CallerAction.All)
            Assert.Null(admin.Denial(action, Other, Subject.Parse("anyone"), ScopeSet.Parse(["x", "y"])));
    }

    [Fact]
    public void Empty_held_scopes_and_resources_are_granted_only_when_listed_or_wildcarded()
    {
        var reader = Reader();
        Assert.False(reader.AllowsHeldScopes(ScopeSet.Empty)); // unknown, not "nothing"
        Assert.True(reader.AllowsHeldScopes(ScopeSet.Parse(["api.read"])));
        Assert.False(reader.AllowsResource("https://api.example/"));
        Assert.True(reader.AllowsResource(""));
        Assert.True(Caller.Development.AllowsHeldScopes(ScopeSet.Empty));
        Assert.True(Caller.Development.AllowsResource("https://api.example/"));
    }

    [Fact]
    public void Settings_that_cannot_work_are_named_at_start()
    {
        var failures = CallerOptionsValidator.Validate(new Dictionary<string, CallerOptions>
        {
            ["keyless"] = new() { Providers = ["*"] },
            ["clear-key"] = new() { ApiKeyHashes = ["bk_secret-in-clear"], Providers = ["*"] },
            ["bad-subject"] = new() { ApiKeyHashes = [ApiKeyHash.Format("k1")], Providers = ["*"], Subjects = ["a*b"] },
            ["workload"] = new() { WorkloadSubjects = ["svc"], Providers = ["*"] },
            ["bad-resource"] = new() { ApiKeyHashes = [ApiKeyHash.Format("k2")], Providers = ["*"], Resources = ["api.example/relative"] },
        }, new CallerAuthenticationOptions());

        Assert.Contains(failures, f => f.StartsWith("Broker:Callers:keyless has no credential", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Broker:Callers:clear-key:ApiKeyHashes", StringComparison.Ordinal));
        Assert.DoesNotContain(failures, f => f.Contains("bk_secret-in-clear", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Broker:Callers:bad-subject:Subjects", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Broker:Callers:workload:WorkloadSubjects needs Broker:Authentication:Jwt:Authority", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Broker:Callers:bad-resource:Resources", StringComparison.Ordinal));
    }

    [Fact]
    public void Api_keys_are_found_by_hash_only()
    {
        var key = ApiKeyHash.NewKey();
        var registry = new CallerRegistry(new Dictionary<string, CallerOptions>
        {
            ["svc"] = new() { ApiKeyHashes = [ApiKeyHash.Format(key)], Providers = ["*"] },
        }, openForDevelopment: true);

        Assert.Equal("svc", registry.FindByApiKey(key));
        Assert.Equal("svc", registry.FindByApiKey(key)); // again, now from the keys it verified (VerifiedApiKeys)
        Assert.Null(registry.FindByApiKey(key[..^1]));
        Assert.Null(registry.FindByApiKey(key + "x"));
        Assert.Null(registry.FindByApiKey(ApiKeyHash.Format(key))); // the stored hash is not a key
        Assert.False(registry.IsOpenForDevelopment); // a configured caller closes the development door
    }

    [Fact]
    public void Every_method_of_the_contract_has_a_policy_action()
    {
        // The interceptor refuses methods without one; a new RPC must get its own grant before anyone can call it.
        foreach (var method in Broker.V1.TokenBroker.Descriptor.Methods)
            Assert.True(CallerAction.Find(method.Name) is not null, $"{method.Name} has no complete (broker.v1.rpc) option");
    }
}
