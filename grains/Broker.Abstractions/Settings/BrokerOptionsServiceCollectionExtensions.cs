using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Abstractions.Settings;

/// <summary>
/// The one way the broker registers an options class: bound from its section, checked by an
/// <see cref="IValidateOptions{TOptions}"/> whose messages name the setting, and validated when the host
/// starts, so a wrong setting stops the process instead of surfacing at the first call that reads it.
/// </summary>
public static class BrokerOptionsServiceCollectionExtensions
{
    public static OptionsBuilder<TOptions> AddBrokerOptions<TOptions, TValidator>(
        this IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }

    /// <summary>For a section bound other than by property names, e.g. a dictionary keyed by provider name.</summary>
    public static OptionsBuilder<TOptions> AddBrokerOptions<TOptions, TValidator>(
        this IServiceCollection services, Action<TOptions> bind)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services.AddOptions<TOptions>().Configure(bind).ValidateOnStart();
    }

    /// <summary>
    /// For settings the host needs before its container exists (ports, cluster mode, exporters): registered
    /// the same way, and also bound and validated now by the same validator, so the value returned is valid.
    /// <paramref name="bind"/> replaces binding by property names, as for a section keyed by name.
    /// </summary>
    public static TOptions AddBrokerOptionsNow<TOptions>(
        this IServiceCollection services, IConfiguration configuration, string section, IValidateOptions<TOptions> validator,
        Action<IConfigurationSection, TOptions>? bind = null)
        where TOptions : class, new()
    {
        var configured = configuration.GetSection(section);
        bind ??= (from, to) => from.Bind(to);
        services.TryAddEnumerable(ServiceDescriptor.Singleton(validator));
        services.AddOptions<TOptions>().Configure(o => bind(configured, o)).ValidateOnStart();

        var options = new TOptions();
        try
        {
            bind(configured, options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's message names the setting it could not convert (e.g. Broker:Mode=Clustr).
            throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), [ex.Message]);
        }
        var result = validator.Validate(Options.DefaultName, options);
        if (result.Failed) throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), result.Failures);
        return options;
    }
}
