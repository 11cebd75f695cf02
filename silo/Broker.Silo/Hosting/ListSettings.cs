using System.Collections;
using System.Reflection;
using Broker.Grains.Protection;
using Broker.OAuth.Providers;
using Broker.Silo.Callers;

namespace Broker.Silo.Hosting;

/// <summary>
/// Finds list settings given as one value (<c>Broker__Providers__x__Scopes="openid offline_access"</c>). The
/// configuration binder ignores such a value without a word, so the provider would silently ask for no scope;
/// each one is named with the indexed form that works.
/// </summary>
public static class ListSettings
{
    public static IReadOnlyList<string> Misgiven(IConfiguration configuration)
    {
        var failures = new List<string>();
        foreach (var provider in configuration.GetSection(ProvidersOptions.Section).GetChildren())
            Walk(provider, typeof(ProviderOptions), failures);
        foreach (var caller in configuration.GetSection(CallerOptions.Section).GetChildren())
            Walk(caller, typeof(CallerOptions), failures);
        Walk(configuration.GetSection(EncryptionOptions.Section), typeof(EncryptionOptions), failures);
        return failures;
    }

    private static void Walk(IConfigurationSection section, Type type, List<string> failures)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var child = section.GetSection(property.Name);
            var propertyType = property.PropertyType;
            if (propertyType == typeof(string) || !child.Exists()) continue;
            if (typeof(IDictionary).IsAssignableFrom(propertyType)) continue;
            if (typeof(IEnumerable).IsAssignableFrom(propertyType))
            {
                if (child.Value is not null)
                {
                    var env = child.Path.Replace(":", "__", StringComparison.Ordinal);
                    failures.Add($"{child.Path} is a list: give each item on its own, as {child.Path}:0, {child.Path}:1, ... " +
                        $"(environment: {env}__0, {env}__1; JSON: an array), not as one value.");
                }
                continue;
            }
            if (propertyType.IsClass) Walk(child, propertyType, failures);
        }
    }
}
