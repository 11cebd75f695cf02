using Broker.OAuth.Providers;

namespace Broker.OAuth.Tests.Providers;

public sealed class RedirectOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(string? publicBaseUrl) =>
        new RedirectOptionsValidator().Validate(null, new RedirectOptions { PublicBaseUrl = publicBaseUrl }).Failures?.ToList() ?? [];

    [Theory]
    [InlineData(null)]
    [InlineData("https://broker.example.com")]
    [InlineData("http://127.0.0.1:5380/")]
    public void No_base_url_or_an_absolute_http_one_is_valid(string? url)
    {
        Assert.Empty(Failures(url));
    }

    [Theory]
    [InlineData("/broker")]
    [InlineData("broker.example.com")]
    [InlineData("ftp://broker.example.com")]
    public void A_base_url_that_is_not_absolute_http_is_refused_naming_the_setting(string url)
    {
        var failure = Assert.Single(Failures(url));

        Assert.Equal($"Broker:Http:PublicBaseUrl must be an absolute http or https URL (was '{url}').", failure);
    }
}
