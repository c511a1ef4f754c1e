namespace Pinhole.Node;

/// <summary>The peer store cannot be opened or written (a file of another program or of a newer Pinhole, a full disk, an alias already in use).</summary>
public sealed class PeerStoreException : IOException
{
    /// <summary>Creates the exception.</summary>
    public PeerStoreException(string message, Exception? innerException = null) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public PeerStoreException() : this("The peer store failed.") { }

    /// <summary>Creates the exception.</summary>
    public PeerStoreException(string message) : this(message, null) { }
}
