using System.Net.Sockets;

namespace Pinhole.Connections;

/// <summary>
/// Turns sockets away cheaply: the refusal (a few bytes the dialer can show as a reason) is sent at once, our
/// side is shut down, and the socket lingers only until the dialer closes or <c>linger</c> passes, never
/// for a handshake timeout. The linger matters: closing a socket with unread input makes the kernel send a
/// reset, and the reset can destroy the refusal before the dialer reads it. At most <c>maxLingering</c>
/// refusals linger at once; past that a socket is reset at once (an attacker gets nothing, a real dialer
/// still sees its connection refused).
/// </summary>
internal sealed class Refuser
{
    private const int MaxDrainBytes = 64 * 1024;
    private static readonly byte[] Discard = new byte[4096]; // shared: what is read is thrown away

    private readonly int _maxLingering;
    private readonly TimeSpan _linger;
    private readonly TimeProvider _time;
    private int _lingering;

    public Refuser(int maxLingering, TimeSpan linger, TimeProvider time)
    {
        _maxLingering = maxLingering;
        _linger = linger;
        _time = time;
    }

    /// <summary>Refusals lingering now.</summary>
    public int Lingering => Volatile.Read(ref _lingering);

    /// <summary>Sends <paramref name="message"/> and closes <paramref name="socket"/> (which this takes over) in the background.</summary>
    public void Refuse(Socket socket, ReadOnlyMemory<byte> message, CancellationToken stopping)
    {
        if (Interlocked.Increment(ref _lingering) > _maxLingering)
        {
            Interlocked.Decrement(ref _lingering);
            Reset(socket);
            return;
        }
        _ = RefuseAsync(socket, message, stopping);
    }

    /// <summary>Closes with a TCP reset (SO_LINGER 0): no time-wait, no lingering state.</summary>
    public static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
        socket.Dispose();
    }

    private async Task RefuseAsync(Socket socket, ReadOnlyMemory<byte> message, CancellationToken stopping)
    {
        try
        {
            using var deadline = new Deadline(_linger, _time, stopping);
            await socket.SendAsync(message, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            var drained = 0;
            while (drained < MaxDrainBytes)
            {
                var read = await socket.ReceiveAsync(Discard, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                drained += read;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The dialer went away, or would not: it is refused either way.
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _lingering);
        }
    }
}
