using Broker.Abstractions;
using Broker.Abstractions.Tokens;
using Broker.OAuth.Discovery;

namespace Broker.OAuth.Authorization;

/// <summary>Checks an authorization response before its code is redeemed.</summary>
public static class AuthorizationResponseValidator
{
    public const int MaxParameterLength = 4096;

    /// <summary>
    /// RFC 9207 §2.4: a wrong <c>iss</c> is always rejected; a missing one is rejected when the server
    /// advertises that it sends it. This is what stops a mix-up attack from redeeming one server's code at another.
    /// </summary>
    public static void Validate(AuthorizationResponse response, AuthorizationServerMetadata metadata)
    {
        if (response.Issuer is not null && !string.Equals(response.Issuer, metadata.Issuer, StringComparison.Ordinal))
            throw Invalid("the iss parameter does not name this provider's issuer.");
        if (response.Issuer is null && metadata.AuthorizationResponseIssParameterSupported)
            throw Invalid("the provider sends iss with every authorization response, but this one has none.");

        if (response.Error is not null)
        {
            throw new BrokerException(BrokerErrorReason.AuthorizationDenied,
                $"the authorization server answered '{Printable(response.Error)}'.") { Detail = Printable(response.Error) };
        }
        if (string.IsNullOrEmpty(response.Code))
            throw Invalid("the response has neither code nor error.");
    }

    private static BrokerException Invalid(string why) => new(BrokerErrorReason.InvalidAuthorizationResponse, why);

    // An error code is an ASCII token (RFC 6749 §4.1.2.1); anything else is cut down before it reaches a message.
    private static string Printable(string value)
    {
        var cut = value.Length > 64 ? value[..64] : value;
        return new string(cut.Where(c => c is >= ' ' and <= '~' and not '"' and not '\\').ToArray());
    }
}
