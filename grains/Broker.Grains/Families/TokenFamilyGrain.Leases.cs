namespace Broker.Grains.Families;

/// <summary>Served-token leases (<see cref="ServedTokenLeases"/>): what counts as a change to what the family serves.</summary>
public sealed partial class TokenFamilyGrain
{
    /// <summary>Whether a silo holding the token served before could now hand out something the family would not.</summary>
    private static bool ServedTokenChanged(TokenFamilyState before, TokenFamilyState after) =>
        !Equals(before.AccessToken, after.AccessToken)
        || before.Status != after.Status
        || before.StatusReason != after.StatusReason;
}
