using Broker.Silo.Callers;

namespace Broker.Silo.Tests.Callers;

public sealed class CallerAuthenticationOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(WorkloadJwtOptions jwt) =>
        new CallerAuthenticationOptionsValidator().Validate(null, new CallerAuthenticationOptions { Jwt = jwt }).Failures?.ToList() ?? [];

    [Fact]
    public void No_workload_issuer_or_a_complete_one_is_valid()
    {
        Assert.Empty(Failures(new WorkloadJwtOptions()));
        Assert.Empty(Failures(new WorkloadJwtOptions { Authority = "https://issuer.example/", Audience = "broker" }));
    }

    [Fact]
    public void An_issuer_without_an_audience_is_refused_naming_both_settings()
    {
        var failure = Assert.Single(Failures(new WorkloadJwtOptions { Authority = "https://issuer.example/" }));

        Assert.Equal("Broker:Authentication:Jwt:Audience is required when Broker:Authentication:Jwt:Authority is set.", failure);
    }

    [Fact]
    public void A_relative_issuer_is_refused_naming_the_setting()
    {
        Assert.Contains("Broker:Authentication:Jwt:Authority must be an absolute URL.",
            Failures(new WorkloadJwtOptions { Authority = "issuer", Audience = "broker" }));
    }

    [Fact]
    public void A_negative_clock_skew_is_refused_naming_the_setting()
    {
        Assert.Contains("Broker:Authentication:Jwt:ClockSkew must not be negative (was -00:00:01).",
            Failures(new WorkloadJwtOptions { ClockSkew = TimeSpan.FromSeconds(-1) }));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000/")]
    [InlineData("http://[::1]:5000/")]
    [InlineData("http://localhost:5000/")]
    public void Plain_http_metadata_is_allowed_for_a_loopback_issuer(string authority)
    {
        Assert.Empty(Failures(new WorkloadJwtOptions { Authority = authority, Audience = "broker", RequireHttpsMetadata = false }));
    }

    [Fact]
    public void RequireHttpsMetadata_false_is_refused_for_an_issuer_off_loopback_naming_the_setting()
    {
        Assert.Contains("Broker:Authentication:Jwt:RequireHttpsMetadata may be false only for a loopback Broker:Authentication:Jwt:Authority.",
            Failures(new WorkloadJwtOptions { Authority = "https://issuer.example/", Audience = "broker", RequireHttpsMetadata = false }));
        Assert.Contains("Broker:Authentication:Jwt:RequireHttpsMetadata may be false only for a loopback Broker:Authentication:Jwt:Authority.",
            Failures(new WorkloadJwtOptions { Authority = "http://issuer.example/", Audience = "broker", RequireHttpsMetadata = false }));
    }

    [Fact]
    public void A_plain_http_issuer_off_loopback_is_refused_naming_the_setting()
    {
        Assert.Contains("Broker:Authentication:Jwt:Authority must use https (loopback is exempt).",
            Failures(new WorkloadJwtOptions { Authority = "http://issuer.example/", Audience = "broker" }));
    }
}
