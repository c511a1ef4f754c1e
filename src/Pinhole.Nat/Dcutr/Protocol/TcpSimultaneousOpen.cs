using System.Net;
using System.Net.Sockets;

namespace Pinhole.Nat.Dcutr.Protocol;

/// <summary>
/// The TCP half of a hole punch: connect from our listen port (SO_REUSEPORT; .NET's ReuseAddress sets it and
/// SO_REUSEADDR on Linux) to each of the peer's addresses at once. When both peers do this at the same moment, each NAT
/// sees an outbound SYN before the peer's SYN arrives, and the kernels complete one connection by simultaneous open
/// (RFC 9293 §3.5). The first attempt that connects wins; the others are abandoned.
/// </summary>
internal static class TcpSimultaneousOpen
{
    /// <summary>Connects from <paramref name="local"/> to the first of <paramref name="remotes"/> that answers.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.Unreachable"/> naming every failed address.</exception>
    public static async Task<Socket> ConnectAsync(
        IPEndPoint local, IReadOnlyList<IPEndPoint> remotes, Func<AddressFamily, Socket> createSocket, CancellationToken cancellationToken)
    {
        using var race = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = remotes.Select(remote => ConnectOneAsync(local, remote, createSocket, race.Token)).ToList();
        var errors = new List<string>();
        try
        {
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny(pending).ConfigureAwait(false);
                pending.Remove(done);
                if (done.IsCompletedSuccessfully)
                {
                    await race.CancelAsync().ConfigureAwait(false);
                    return done.Result;
                }
                errors.Add(done.Exception?.InnerException?.Message ?? "cancelled");
            }
        }
        finally
        {
            // Attempts still running lose the race; a loser that connected anyway is closed.
            foreach (var loser in pending)
            {
                _ = loser.ContinueWith(
                    static t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            t.Result.Dispose();
                        }
                        else
                        {
                            _ = t.Exception; // observed: losing is not an error
                        }
                    },
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        throw new PeerException(PeerError.Unreachable, $"No simultaneous open from {local}: {string.Join("; ", errors)}");
    }

    private static async Task<Socket> ConnectOneAsync(IPEndPoint local, IPEndPoint remote, Func<AddressFamily, Socket> createSocket, CancellationToken cancellationToken)
    {
        var socket = createSocket(remote.AddressFamily);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.NoDelay = true;
            socket.Bind(local.AddressFamily == remote.AddressFamily ? local : new IPEndPoint(remote.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, local.Port));
            await socket.ConnectAsync(remote, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"{remote}: {e.SocketErrorCode}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
