using System.Net.Sockets;

namespace Pinhole.Connections;

/// <summary>
/// What an accept loop does when <c>accept()</c> fails: never give up. A dialer that reset before we took it
/// is skipped at once; running out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) or anything
/// unexpected waits before the next try, doubling from 5 ms to 1 s, so the loop neither spins on a
/// persistent error nor stays away long once it clears. The pending connections wait in the kernel backlog.
/// </summary>
internal sealed class AcceptBackoff
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private TimeSpan _next = Initial;

    public AcceptBackoff(TimeProvider time) => _time = time;

    /// <summary>True for errors that concern only the one dialer (retry at once).</summary>
    public static bool IsTransient(SocketException e) =>
        e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Interrupted
            or SocketError.ProtocolNotSupported or SocketError.NetworkDown or SocketError.NetworkUnreachable
            or SocketError.HostUnreachable or SocketError.TimedOut;

    /// <summary>True when the process or system is out of descriptors or buffers.</summary>
    public static bool IsResourceExhaustion(SocketException e) =>
        e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable
        || e.NativeErrorCode is 23 /* ENFILE */ or 24 /* EMFILE */ or 12 /* ENOMEM */ or 105 /* ENOBUFS */;

    /// <summary>A short name for metrics and logs.</summary>
    /// <remarks>.NET maps EMFILE and ENFILE both to <see cref="SocketError.TooManyOpenSockets"/> (and reports one
    /// errno for it), so the two cannot be told apart here: both are "too_many_open_files".</remarks>
    public static string Describe(SocketException e) => e.SocketErrorCode == SocketError.TooManyOpenSockets ? "too_many_open_files" : e.NativeErrorCode switch
    {
        24 => "emfile",
        23 => "enfile",
        12 => "enomem",
        105 => "enobufs",
        _ => e.SocketErrorCode.ToString().ToLowerInvariant(),
    };

    /// <summary>Accepted successfully: the next failure starts the backoff afresh.</summary>
    public void Reset() => _next = Initial;

    /// <summary>Waits before the next accept (cancelled when the listener stops).</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        var delay = _next;
        _next = _next * 2 > Max ? Max : _next * 2;
        await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
    }
}
