using Broker.OAuth.Providers;

namespace Broker.OAuth.Tests.Providers;

public sealed class ProvidersOptionsValidatorTests
{
    private static IEnumerable<string> Failures(ProviderOptions provider, string name = "github")
    {
        var options = new ProvidersOptions();
        options.Providers[name] = provider;
        return new ProvidersOptionsValidator().Validate(null, options).Failures ?? [];
    }

    [Fact]
    public void Complete_provider_is_valid()
    {
        Assert.Empty(Failures(new ProviderOptions { Issuer = "https://github.example/", ClientId = "id", ClientSecret = "s" }));
    }

    [Fact]
    public void An_unknown_Dpop_mode_is_named()
    {
        Assert.Contains(Failures(new ProviderOptions { Issuer = "https://github.example/", ClientId = "id", ClientSecret = "s", Dpop = (DpopMode)7 }),
            f => f.Contains("Broker:Providers:github:Dpop must be Off, Opportunistic or Required"));
        Assert.Empty(Failures(new ProviderOptions { Issuer = "https://github.example/", ClientId = "id", ClientSecret = "s", Dpop = DpopMode.Required }));
    }

    [Fact]
    public void Each_missing_setting_is_named()
    {
        var failures = string.Join("\n", Failures(new ProviderOptions()));

        Assert.Contains("Broker:Providers:github:Issuer", failures);
        Assert.Contains("Broker:Providers:github:ClientId", failures);
        Assert.Contains("Broker:Providers:github:ClientSecret", failures);
    }

    [Fact]
    public void Plain_http_issuer_is_refused_unless_loopback()
    {
        Assert.Contains(Failures(new ProviderOptions { Issuer = "http://as.example/", ClientId = "id", ClientSecret = "s" }),
            f => f.Contains("Broker:Providers:github:Issuer must use https"));
        Assert.Empty(Failures(new ProviderOptions { Issuer = "http://127.0.0.1:5000/", ClientId = "id", ClientSecret = "s" }));
    }

    [Theory]
    [InlineData("MetadataAddress")]
    [InlineData("AuthorizationEndpoint")]
    [InlineData("TokenEndpoint")]
    [InlineData("RevocationEndpoint")]
    public void A_plain_http_endpoint_is_refused_naming_the_setting_unless_loopback(string setting)
    {
        static ProviderOptions With(string setting, string value)
        {
            var provider = new ProviderOptions { Issuer = "https://as.example/", ClientId = "id", ClientSecret = "s" };
            typeof(ProviderOptions).GetProperty(setting)!.SetValue(provider, value);
            return provider;
        }

        Assert.Contains($"Broker:Providers:github:{setting} must use https (or set Broker:Providers:github:RequireHttps=false).", Failures(With(setting, "http://as.example/x")));
        Assert.Empty(Failures(With(setting, "https://as.example/x")));
        Assert.Empty(Failures(With(setting, "http://127.0.0.1:5000/x")));
        Assert.Empty(Failures(With(setting, "http://[::1]:5000/x")));
        Assert.Empty(Failures(With(setting, "http://localhost:5000/x")));
    }

    [Fact]
    public void Without_discovery_every_plain_http_endpoint_is_refused_each_named()
    {
        var failures = Failures(new ProviderOptions
        {
            Issuer = "https://as.example/", ClientId = "id", ClientSecret = "s", UseDiscovery = false,
            AuthorizationEndpoint = "http://as.example/authorize", TokenEndpoint = "http://as.example/token", RevocationEndpoint = "http://as.example/revoke",
        }).ToList();

        Assert.Contains("Broker:Providers:github:AuthorizationEndpoint must use https (or set Broker:Providers:github:RequireHttps=false).", failures);
        Assert.Contains("Broker:Providers:github:TokenEndpoint must use https (or set Broker:Providers:github:RequireHttps=false).", failures);
        Assert.Contains("Broker:Providers:github:RevocationEndpoint must use https (or set Broker:Providers:github:RequireHttps=false).", failures);
    }

    [Fact]
    public void RequireHttps_false_is_the_one_deliberate_way_to_allow_plain_http_off_loopback()
    {
        Assert.Empty(Failures(new ProviderOptions
        {
            Issuer = "http://as.example/", ClientId = "id", ClientSecret = "s", RequireHttps = false,
            MetadataAddress = "http://as.example/meta", TokenEndpoint = "http://as.example/token",
        }));
    }

    [Theory]
    [InlineData(1023)]
    [InlineData(16 * 1024 * 1024 + 1)]
    public void A_response_limit_out_of_range_is_refused_naming_the_setting(int bytes)
    {
        Assert.Contains($"Broker:Providers:github:MaxResponseBytes must be 1024-16777216 (was {bytes}).",
            Failures(new ProviderOptions { Issuer = "https://as.example/", ClientId = "id", ClientSecret = "s", MaxResponseBytes = bytes }));
    }

    [Fact]
    public void Request_timeout_and_unanswered_backoff_out_of_range_are_each_named()
    {
        var failures = string.Join("\n", Failures(new ProviderOptions
        {
            Issuer = "https://github.example/",
            ClientId = "id",
            ClientSecret = "s",
            TokenRequestTimeout = TimeSpan.Zero,
            UnansweredBackoff = TimeSpan.FromSeconds(10),
            MaxUnansweredBackoff = TimeSpan.FromSeconds(5),
        }));

        Assert.Contains("Broker:Providers:github:TokenRequestTimeout must be above 0", failures);
        Assert.Contains("Broker:Providers:github:MaxUnansweredBackoff must be at least UnansweredBackoff", failures);
        Assert.Contains("Broker:Providers:github:UnansweredBackoff must be positive",
            string.Join("\n", Failures(new ProviderOptions { Issuer = "https://github.example/", ClientId = "id", ClientSecret = "s", UnansweredBackoff = TimeSpan.Zero })));
    }

    [Fact]
    public void Bad_provider_name_is_named()
    {
        Assert.Contains(Failures(new ProviderOptions { Issuer = "https://a.example/", ClientId = "id", ClientSecret = "s" }, name: "Bad Name"),
            f => f.Contains("Broker:Providers:Bad Name"));
    }

    [Fact]
    public void Missing_secret_file_is_named()
    {
        Assert.Contains(Failures(new ProviderOptions { Issuer = "https://a.example/", ClientId = "id", ClientSecretFile = "/nonexistent/secret" }),
            f => f.Contains("ClientSecretFile"));
    }

    [Fact]
    public void Key_and_certificate_methods_name_their_files_and_need_no_secret()
    {
        var jwt = string.Join("\n", Failures(new ProviderOptions
        {
            Issuer = "https://as.example/", ClientId = "id", ClientAuthentication = ClientAuthenticationMethod.PrivateKeyJwt,
        }));
        Assert.Contains("Broker:Providers:github:ClientKeyFile is required", jwt);
        Assert.DoesNotContain("ClientSecret", jwt);

        var notAKey = Path.GetTempFileName();
        File.WriteAllText(notAKey, "not a key");
        Assert.Contains(Failures(new ProviderOptions
        {
            Issuer = "https://as.example/", ClientId = "id", ClientAuthentication = ClientAuthenticationMethod.PrivateKeyJwt, ClientKeyFile = notAKey,
        }), f => f.StartsWith("Broker:Providers:github:ClientKeyFile is not a PEM private key", StringComparison.Ordinal));
        File.Delete(notAKey);

        Assert.Contains(Failures(new ProviderOptions
        {
            Issuer = "https://as.example/", ClientId = "id", ClientAuthentication = ClientAuthenticationMethod.TlsClientAuth,
        }), f => f.Contains("Broker:Providers:github:ClientCertificateFile and Broker:Providers:github:ClientCertificateKeyFile are required", StringComparison.Ordinal));
    }

    [Fact]
    public void Circuit_breaker_thresholds_out_of_range_are_named()
    {
        var failures = string.Join("\n", Failures(new ProviderOptions
        {
            Issuer = "https://github.example/", ClientId = "id", ClientSecret = "s",
            CircuitBreaker = new() { MinimumThroughput = 1, FailureRatio = 0, SamplingDuration = TimeSpan.FromSeconds(5), BreakDuration = TimeSpan.Zero },
        }));

        Assert.Contains("Broker:Providers:github:CircuitBreaker:MinimumThroughput", failures);
        Assert.Contains("Broker:Providers:github:CircuitBreaker:FailureRatio", failures);
        Assert.Contains("Broker:Providers:github:CircuitBreaker:SamplingDuration", failures);
        Assert.Contains("Broker:Providers:github:CircuitBreaker:BreakDuration", failures);
    }

    [Fact]
    public void Client_credential_scopes_and_caller_limits_are_checked_at_start()
    {
        var failures = string.Join("\n", Failures(new ProviderOptions
        {
            Issuer = "https://as.example/", ClientId = "id", ClientSecret = "s",
            ClientCredentialsScopes = ["api \"read"], CallerTokenRequestShare = 1.5, MaxClientTokenKeysPerCaller = 0,
        }));
        Assert.Contains("Broker:Providers:github:ClientCredentialsScopes", failures);
        Assert.Contains("Broker:Providers:github:CallerTokenRequestShare", failures);
        Assert.Contains("Broker:Providers:github:MaxClientTokenKeysPerCaller", failures);
    }
}
