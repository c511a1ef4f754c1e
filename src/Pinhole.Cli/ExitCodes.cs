namespace Pinhole.Cli;

/// <summary>Exit codes a script can rely on (docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The operation failed for a reason not listed below (protocol error, peer closed, I/O).</summary>
    public const int Failure = 1;
    /// <summary>Bad command line.</summary>
    public const int Usage = 2;
    /// <summary>The peer could not be authenticated: wrong key (PeerMismatch), bad certificate, failed handshake.</summary>
    public const int AuthenticationFailed = 3;
    /// <summary>The peer could not be reached, refused, or did not answer in time.</summary>
    public const int Unreachable = 4;
    /// <summary>The local identity or home directory is unusable (e.g. key file too open).</summary>
    public const int LocalIdentity = 5;
    /// <summary>The local daemon is not running, or its API cannot be reached.</summary>
    public const int DaemonUnavailable = 6;
    /// <summary>Refused by an authority: the daemon's API (not permitted for this user) or a coordinator (not a member, revoked, not an admin).</summary>
    public const int NotPermitted = 7;
    /// <summary>What the command names does not exist (unknown peer, network, invite).</summary>
    public const int NotFound = 8;
    /// <summary>Interrupted (Ctrl-C) before completion.</summary>
    public const int Interrupted = 130;

    /// <summary>Terminated (SIGTERM) and not stopped within the stop timeout (128 + 15, as a shell reports it).</summary>
    public const int Terminated = 143;

    public static int For(PeerError error) => error switch
    {
        PeerError.PeerMismatch or PeerError.InvalidCertificate or PeerError.HandshakeFailed => AuthenticationFailed,
        PeerError.Unreachable or PeerError.Refused or PeerError.Timeout => Unreachable,
        _ => Failure,
    };
}
