namespace Broker.Grains.Storage;

/// <summary>How a decided state is written.</summary>
public enum WriteMode
{
    /// <summary>Compare-and-set; after a lost write this activation's decision is merged onto what is stored.</summary>
    Fenced,
    /// <summary>As <see cref="Fenced"/>, and retried until stored: rotated tokens are served only once durable.</summary>
    Durable,
    /// <summary>The decision is made again on what is stored (a status change must not overwrite newer tokens).</summary>
    OnStored,
}
