namespace Pinhole;

/// <summary>What went wrong with a peer, a connection or a stream.</summary>
public enum PeerError
{
    /// <summary>An error that fits no other category; the message says what happened.</summary>
    InternalError = 0,
    /// <summary>The remote proved a different key than the one the caller asked for.</summary>
    PeerMismatch,
    /// <summary>The security handshake (TLS, DTLS, multistream) failed.</summary>
    HandshakeFailed,
    /// <summary>The remote sent bytes that break the protocol.</summary>
    ProtocolViolation,
    /// <summary>The remote refused the connection, stream or protocol.</summary>
    Refused,
    /// <summary>A configured limit (connections, streams, frame or message size) was reached.</summary>
    LimitExceeded,
    /// <summary>An operation did not complete within its configured time.</summary>
    Timeout,
    /// <summary>The connection was closed (gracefully or not) before the operation completed.</summary>
    ConnectionClosed,
    /// <summary>The stream was reset by either side.</summary>
    StreamAborted,
    /// <summary>A peer certificate failed validation.</summary>
    InvalidCertificate,
    /// <summary>The address could not be reached (DNS, TCP connect, unreachable).</summary>
    Unreachable,
    /// <summary>The connection or stream went idle for longer than allowed.</summary>
    IdleTimeout,
}

/// <summary>An error from the Pinhole networking stack, with a machine-readable <see cref="PeerError"/>.</summary>
public class PeerException : IOException
{
    /// <summary>Creates an exception with a category and a message.</summary>
    public PeerException(PeerError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>Creates an exception in the <see cref="PeerError.InternalError"/> category.</summary>
    public PeerException() : this(PeerError.InternalError, "Peer error.") { }

    /// <summary>Creates an exception in the <see cref="PeerError.InternalError"/> category.</summary>
    public PeerException(string message) : this(PeerError.InternalError, message) { }

    /// <summary>Creates an exception in the <see cref="PeerError.InternalError"/> category.</summary>
    public PeerException(string message, Exception innerException) : this(PeerError.InternalError, message, innerException) { }

    /// <summary>The category of the error.</summary>
    public PeerError Error { get; }
}
