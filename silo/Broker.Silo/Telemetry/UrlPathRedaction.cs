using System.Diagnostics;
using OpenTelemetry;

namespace Broker.Silo.Telemetry;

/// <summary>
/// The JSON transcoding routes carry the subject in the path (<c>/v1/providers/{provider}/families/{subject}</c>), and
/// ASP.NET Core's instrumentation exports the path as <c>url.path</c>. Before any exporter sees a server span, the path
/// becomes its route template; a path under <c>/v1/</c> that matched no route is dropped.
/// </summary>
public sealed class UrlPathRedaction : BaseProcessor<Activity>
{
    private const string PathTag = "url.path";

    public override void OnEnd(Activity activity)
    {
        if (activity.Kind != ActivityKind.Server || activity.GetTagItem(PathTag) is not string path) return;
        if (activity.GetTagItem("http.route") is string { Length: > 0 } route)
            activity.SetTag(PathTag, route);
        else if (path.StartsWith("/v1/", StringComparison.Ordinal))
            activity.SetTag(PathTag, "/v1/(redacted: no route)");
    }
}
