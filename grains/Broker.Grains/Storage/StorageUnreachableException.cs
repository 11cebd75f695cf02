namespace Broker.Grains.Storage;

/// <summary>
/// The state store did not answer (PostgreSQL down or restarting). It stands in for the database driver's exception,
/// which Orleans cannot carry to a caller on another silo (that caller would get an INTERNAL error instead of a retry).
/// The message names the driver's exception type only, never a connection string.
/// </summary>
[GenerateSerializer]
public sealed class StorageUnreachableException(string message) : Exception(message);
