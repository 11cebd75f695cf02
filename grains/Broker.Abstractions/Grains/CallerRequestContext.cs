namespace Broker.Abstractions.Grains;

/// <summary>
/// The name of the authenticated caller a grain call serves, carried in Orleans' request context so that the token
/// budget can give each caller its own share without every grain interface naming the caller. Absent for work no
/// caller asked for (the callback, a keep-alive, the operations tool): that counts against the client's budget only.
/// </summary>
public static class CallerRequestContext
{
    private const string Key = "broker.caller";

    public static string? Current => RequestContext.Get(Key) as string;

    /// <summary>Set by the gRPC layer once the caller is known, for the rest of the call.</summary>
    public static void Set(string caller) => RequestContext.Set(Key, caller);
}
