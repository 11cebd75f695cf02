using Broker.Silo.Audit;
using Broker.V1;
using Google.Protobuf.Reflection;

namespace Broker.Silo.Callers;

/// <summary>
/// What a caller asks to do: one TokenBroker method, with the grant it needs and the audit event it leaves, as its
/// <c>(broker.v1.rpc)</c> option in the proto declares them. A new RPC is the proto and the service method.
/// </summary>
public sealed record CallerAction(string Name, CallerPermission Permission, AuditEvent AuditEvent)
{
    private static readonly Dictionary<string, CallerAction> ByName = TokenBroker.Descriptor.Methods
        .Select(Of).OfType<CallerAction>().ToDictionary(a => a.Name, StringComparer.Ordinal);

    // By the call's full path too (/broker.v1.TokenBroker/GetAccessToken), as gRPC names it: no substring per call.
    private static readonly Dictionary<string, CallerAction> ByPath = ByName.Values
        .ToDictionary(a => $"/{TokenBroker.Descriptor.FullName}/{a.Name}", StringComparer.Ordinal);

    /// <summary>Every method of the contract that declares what it needs.</summary>
    public static IReadOnlyCollection<CallerAction> All => ByName.Values;

    /// <summary>The action of a method by name, or null when its option is missing or incomplete (then no caller may call it).</summary>
    public static CallerAction? Find(string method) => ByName.GetValueOrDefault(method);

    /// <summary>As <see cref="Find"/>, by the call's full gRPC path.</summary>
    public static CallerAction? FindByPath(string path) => ByPath.GetValueOrDefault(path);

    /// <summary>Like <see cref="Find"/>, for a method that must have one.</summary>
    public static CallerAction Named(string method) =>
        Find(method) ?? throw new ArgumentException($"TokenBroker has no method '{method}' with a complete (broker.v1.rpc) option.", nameof(method));

    /// <summary>The action a method's option declares, or null when it declares none or an incomplete one.</summary>
    public static CallerAction? Of(MethodDescriptor method) =>
        method.GetOptions()?.GetExtension(RpcOptionsExtensions.Rpc) is { } rpc
        && rpc.Permission != CallerPermission.Unspecified && AuditLog.IsCallEvent(rpc.AuditEvent)
            ? new CallerAction(method.Name, rpc.Permission, rpc.AuditEvent)
            : null;

    public override string ToString() => Name;
}
