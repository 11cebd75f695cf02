using Npgsql;

namespace Broker.Silo.Storage;

/// <summary>
/// A server the silo needs at start could not be reached (exit code 4): not a settings error (2) nor a schema
/// to migrate (3). The message names the server by host and port only, never the connection string's secrets.
/// </summary>
public sealed class DependencyUnreachableException(string message) : Exception(message)
{
    public static DependencyUnreachableException PostgreSql(string connectionString, NpgsqlException ex)
    {
        var where = "(unparsable connection string)";
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            where = $"{builder.Host}:{builder.Port}";
        }
        catch (ArgumentException)
        {
        }
        var cause = ex.InnerException ?? ex;
        return new DependencyUnreachableException(
            $"PostgreSQL at {where} (Broker:Cluster:PostgreSql) cannot be reached: {cause.GetType().Name}: {cause.Message}");
    }
}
