using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// A loopback TCP relay that holds every chunk of data for a fixed one-way delay in each direction, so that
/// loopback latency runs count round trips as a network would (netem is not available on this machine). The
/// TCP handshake itself is answered by the proxy at once (user space cannot delay it), which takes the same
/// round trip out of the bare and the Pinhole connection alike. Order is kept: one forwarding loop per direction.
/// </summary>
internal sealed class DelayProxy : IAsyncDisposable
{
    private readonly Socket _listen;
    private readonly IPEndPoint _target;
    private readonly TimeSpan _delay;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    public DelayProxy(IPEndPoint target, TimeSpan oneWayDelay)
    {
        _target = target;
        _delay = oneWayDelay;
        _listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listen.Listen(512);
        EndPoint = (IPEndPoint)_listen.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Where to dial instead of the target.</summary>
    public IPEndPoint EndPoint { get; }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listen.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using (client)
        using (var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            client.NoDelay = true;
            server.NoDelay = true;
            try
            {
                await server.ConnectAsync(_target, _stop.Token);
                await Task.WhenAll(ForwardAsync(client, server), ForwardAsync(server, client));
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // One side went away: the relay ends with it.
            }
        }
    }

    // Reads chunks as they come and sends each one once it is `_delay` old.
    private async Task ForwardAsync(Socket from, Socket to)
    {
        var queue = Channel.CreateUnbounded<(long Due, byte[]? Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var sender = Task.Run(async () =>
        {
            await foreach (var (due, data) in queue.Reader.ReadAllAsync(_stop.Token))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _stop.Token);
                }
                if (data is null)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await to.SendAsync(data, SocketFlags.None, _stop.Token);
            }
        });
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                var due = Stopwatch.GetTimestamp() + (long)(_delay.TotalSeconds * Stopwatch.Frequency);
                queue.Writer.TryWrite((due, n == 0 ? null : buffer[..n]));
                if (n == 0)
                {
                    break;
                }
            }
        }
        finally
        {
            queue.Writer.TryComplete();
            await sender;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listen.Dispose();
        await _acceptLoop;
        _stop.Dispose();
    }
}
