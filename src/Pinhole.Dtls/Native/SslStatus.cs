namespace Pinhole.Dtls.Native;

/// <summary>What an SSL_* call on a memory-BIO session came to (SSL_get_error, folded).</summary>
internal enum SslStatus
{
    /// <summary>The call completed.</summary>
    Ok,
    /// <summary>OpenSSL needs another datagram (or has nothing more to return).</summary>
    WantRead,
    /// <summary>The peer sent close_notify.</summary>
    Closed,
    /// <summary>A fatal error; the session is unusable. The error text was drained from the queue.</summary>
    Failed,
}
