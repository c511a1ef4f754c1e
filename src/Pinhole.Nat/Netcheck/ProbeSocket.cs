using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Pinhole.Dtls;

namespace Pinhole.Nat.Internal;

/// <summary>
/// A socket for netcheck: STUN client transactions plus "did this indication arrive" checks (hairpinning).
/// </summary>
internal sealed class ProbeSocket : IAsyncDisposable
{
    private readonly IDatagramBind _bind;
    private readonly ConcurrentDictionary<StunTransactionId, TaskCompletionSource> _expected = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    internal ProbeSocket(IDatagramBind bind, StunClientOptions options)
    {
        _bind = bind;
        Client = new StunClient(bind.SendPacketAsync, options);
        _loop = Task.Run(LoopAsync);
    }

    internal StunClient Client { get; }

    internal EndPoint LocalEndPoint => _bind.LocalEndPoint;

    internal ValueTask SendAsync(EndPoint to, byte[] datagram, CancellationToken cancellationToken) => _bind.SendPacketAsync(to, datagram, cancellationToken);

    /// <summary>Registers interest in an indication with <paramref name="id"/>; the task completes when it arrives.</summary>
    internal Task Expect(StunTransactionId id)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _expected[id] = tcs;
        return tcs.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _bind.DisposeAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        byte[] buffer = new byte[2048];
        while (!_stop.IsCancellationRequested)
        {
            DatagramReceiveResult r;
            try
            {
                r = await _bind.ReceivePacketAsync(buffer, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            ReadOnlySpan<byte> datagram = buffer.AsSpan(0, Math.Min(r.Length, buffer.Length));
            if (Client.TryHandleResponse(r.RemoteEndPoint, datagram))
            {
                continue;
            }
            if (StunMessage.LooksLikeStun(datagram) && _expected.TryRemove(StunTransactionId.Read(datagram[8..]), out TaskCompletionSource? waiter))
            {
                waiter.TrySetResult();
            }
        }
    }
}
