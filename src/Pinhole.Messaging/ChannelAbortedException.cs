namespace Pinhole.Messaging;

/// <summary>
/// A channel was closed with an error, by this side or by the peer; <see cref="Exception.Message"/> carries
/// the reason the other side gave.
/// </summary>
public class ChannelAbortedException : PeerException
{
    /// <summary>Creates an exception with the reason.</summary>
    public ChannelAbortedException(string message, Exception? innerException = null)
        : base(PeerError.StreamAborted, message, innerException)
    {
    }

    /// <summary>Creates an exception with a generic reason.</summary>
    public ChannelAbortedException() : this("The channel was aborted.") { }

    /// <summary>Creates an exception with the reason.</summary>
    public ChannelAbortedException(string message) : this(message, null) { }

    /// <summary>True when the reason came from the peer over the wire.</summary>
    public bool IsRemote { get; init; }
}
