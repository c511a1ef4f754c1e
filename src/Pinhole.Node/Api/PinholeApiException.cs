using System.Net;

namespace Pinhole.Node;

/// <summary>The local API answered with an error (its RFC 9457 problem details), or could not be reached.</summary>
public class PinholeApiException : IOException
{
    /// <summary>Creates the exception.</summary>
    public PinholeApiException(string message, HttpStatusCode? status = null, string? problemType = null, string? peerError = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Status = status;
        ProblemType = problemType;
        PeerError = peerError;
    }

    /// <summary>Creates the exception.</summary>
    public PinholeApiException() : this("The local API failed.") { }

    /// <summary>Creates the exception.</summary>
    public PinholeApiException(string message) : this(message, null, null, null, null) { }

    /// <summary>Creates the exception.</summary>
    public PinholeApiException(string message, Exception innerException) : this(message, null, null, null, innerException) { }

    /// <summary>The HTTP status, or null when no answer came.</summary>
    public HttpStatusCode? Status { get; }

    /// <summary>The problem's <c>type</c> (<c>urn:pinhole:problem:…</c>), or null.</summary>
    public string? ProblemType { get; }

    /// <summary>The <see cref="Pinhole.PeerError"/> name the node reported, or null.</summary>
    public string? PeerError { get; }
}

/// <summary>Nothing answers on the API socket: the daemon is not running (or another user's socket is not ours to use).</summary>
public sealed class DaemonNotRunningException : PinholeApiException
{
    /// <summary>Creates the exception.</summary>
    public DaemonNotRunningException(string message, Exception? innerException = null) : base(message, null, null, null, innerException) { }

    /// <summary>Creates the exception; <paramref name="accessDenied"/>: a daemon may be running, as another user.</summary>
    public DaemonNotRunningException(string message, Exception? innerException, bool accessDenied) : this(message, innerException) => AccessDenied = accessDenied;

    /// <summary>
    /// The API socket exists but refused this user: a daemon is probably running under another one. Callers that
    /// would fall back to working on the home's files must not (they would act for the wrong identity).
    /// </summary>
    public bool AccessDenied { get; }

    /// <summary>Creates the exception.</summary>
    public DaemonNotRunningException() : this("The Pinhole daemon is not running.") { }

    /// <summary>Creates the exception.</summary>
    public DaemonNotRunningException(string message) : this(message, null) { }
}
