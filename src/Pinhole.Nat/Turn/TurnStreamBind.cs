using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using Pinhole.Dtls;

namespace Pinhole.Nat;

/// <summary>
/// TURN over TCP or TLS (RFC 8656 §3.1), for networks that block UDP: the connection to the TURN server seen as a
/// datagram bind that reaches the server only. A <see cref="UdpMux"/> over it (<see cref="UdpMux.Create"/>, with
/// <see cref="StunOptions"/>) and a <see cref="TurnAllocation"/> on that mux work as over UDP — requests, refreshes,
/// permissions, channels, Send/Data indications, ChannelData, DTLS through the allocation; the relayed side stays
/// UDP. Frames are read by one loop (<see cref="TurnStreamFraming"/>), so a cancelled receive never splits one. The
/// allocation lives as long as the connection: when the server closes it, receives and sends fail with a
/// <see cref="SocketException"/> (ConnectionReset), the allocation's next refresh fails and it reports itself lost.
/// </summary>
public sealed class TurnStreamBind : IDatagramBind
{
    private const int QueuedFrames = 256; // then the loop stops reading and TCP pushes back on the server

    // A server that stops reading (its TCP window full) must not hold every sender forever: a write that takes this long
    // ends the connection, as a dead UDP path would drop the datagrams.
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);

    private readonly Stream _stream;
    private readonly IPEndPoint _server;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<(byte[] Buffer, int Length)> _frames = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(QueuedFrames) { SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private string? _closedBecause;
    private int _disposed;

    private TurnStreamBind(Stream stream, IPEndPoint server, EndPoint local)
    {
        _stream = stream;
        _server = UdpHolePunch.Normalize(server);
        LocalEndPoint = local;
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Connects to the TURN server over TCP.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.Unreachable"/>: the connection failed.</exception>
    public static async Task<TurnStreamBind> ConnectAsync(IPEndPoint server, CancellationToken cancellationToken = default)
    {
        (NetworkStream stream, EndPoint local) = await ConnectSocketAsync(server, cancellationToken).ConfigureAwait(false);
        return new TurnStreamBind(stream, server, local);
    }

    private static async Task<(NetworkStream Stream, EndPoint Local)> ConnectSocketAsync(IPEndPoint server, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new PeerException(PeerError.Unreachable, $"Cannot connect to the TURN server {server} over TCP: {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return (new NetworkStream(socket, ownsSocket: true), socket.LocalEndPoint!);
    }

    /// <summary>Connects to the TURN server over TLS (TURNS; <paramref name="tls"/> names and checks the server, as any TLS client does).</summary>
    /// <exception cref="PeerException"><see cref="PeerError.Unreachable"/>: the connection failed; <see cref="PeerError.HandshakeFailed"/>: TLS failed.</exception>
    public static async Task<TurnStreamBind> ConnectTlsAsync(IPEndPoint server, SslClientAuthenticationOptions tls, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tls);
        (NetworkStream raw, EndPoint local) = await ConnectSocketAsync(server, cancellationToken).ConfigureAwait(false);
        var ssl = new SslStream(raw, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(tls, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new PeerException(PeerError.HandshakeFailed, $"TLS with the TURN server {server} failed: {e.Message}", e);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new TurnStreamBind(ssl, server, local);
    }

    /// <summary>A bind over any connected stream to <paramref name="server"/> (which this takes over).</summary>
    public static TurnStreamBind Create(Stream stream, IPEndPoint server, EndPoint localEndPoint)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(localEndPoint);
        return new TurnStreamBind(stream, server, localEndPoint);
    }

    /// <summary>
    /// STUN client settings for a mux over this bind: the stream is reliable, so a request is sent once and waited
    /// for (RFC 8489 §6.2.2 waits 39.5 s; this 10 s), never retransmitted.
    /// </summary>
    public static StunClientOptions StunOptions(TimeProvider? timeProvider = null) => new()
    {
        InitialRetransmitTimeout = TimeSpan.FromMilliseconds(500),
        MaxSends = 1,
        FinalWaitMultiplier = 20,
        TimeProvider = timeProvider ?? TimeProvider.System,
    };

    /// <summary>This end of the connection.</summary>
    public EndPoint LocalEndPoint { get; }

    /// <summary>The TURN server: the only destination this bind reaches.</summary>
    public IPEndPoint Server => _server;

    /// <summary>Why the connection ended (null while it is open).</summary>
    public string? ClosedBecause => Volatile.Read(ref _closedBecause);

    /// <summary>Sends one STUN message or ChannelData to the server (padded as TCP needs); to anyone else it is dropped, as UDP would have no route.</summary>
    public async ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (remote is not IPEndPoint ip || !UdpHolePunch.Normalize(ip).Equals(_server))
        {
            return;
        }
        int padding = TurnStreamFraming.PaddingFor(packet.Span);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Never cancelled half-way (that would leave half a frame on the stream): a stuck write closes the stream.
            using var stuck = new CancellationTokenSource(WriteTimeout);
            await using (stuck.Token.Register(static s => ((Stream)s!).Dispose(), _stream).ConfigureAwait(false))
            {
                await _stream.WriteAsync(packet, CancellationToken.None).ConfigureAwait(false);
                if (padding > 0)
                {
                    await _stream.WriteAsync(new byte[padding], CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            Close("the connection failed on send: " + e.Message);
            throw new SocketException((int)SocketError.ConnectionReset);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next frame from the server, as a datagram from <see cref="Server"/> (truncated to <paramref name="buffer"/>).</summary>
    /// <exception cref="SocketException">ConnectionReset: the connection has ended (<see cref="ClosedBecause"/>).</exception>
    public async ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        (byte[] frame, int length) item;
        try
        {
            item = await _frames.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new SocketException((int)SocketError.ConnectionReset);
        }
        int copied = Math.Min(item.length, buffer.Length);
        item.frame.AsSpan(0, copied).CopyTo(buffer.Span);
        ArrayPool<byte>.Shared.Return(item.frame);
        return new DatagramReceiveResult(_server, copied);
    }

    /// <inheritdoc/>
    public ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default) => ValueTask.FromResult<Libp2pPublicKey?>(null);

    /// <summary>Closes the connection (the server then deletes the allocation).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        Close("disposed");
        await _stop.CancelAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
        while (_frames.Reader.TryRead(out var left))
        {
            ArrayPool<byte>.Shared.Return(left.Buffer);
        }
        _stop.Dispose();
    }

    private async Task ReadLoopAsync()
    {
        byte[] header = new byte[TurnStreamFraming.HeaderLength];
        CancellationToken stop = _stop.Token;
        try
        {
            while (true)
            {
                // Waiting for a frame's first byte is where the loop may be stopped; inside a frame it reads on.
                int got = await _stream.ReadAsync(header.AsMemory(0, 1), stop).ConfigureAwait(false);
                if (got == 0)
                {
                    Close("the server closed the connection");
                    return;
                }
                await _stream.ReadExactlyAsync(header.AsMemory(1), CancellationToken.None).ConfigureAwait(false);
                if (TurnStreamFraming.Measure(header, out int frameLength, out int datagramLength, out string? error) != TurnFrameStatus.Frame)
                {
                    Close("the server sent " + error);
                    return;
                }
                byte[] frame = ArrayPool<byte>.Shared.Rent(frameLength);
                try
                {
                    header.CopyTo(frame, 0);
                    await _stream.ReadExactlyAsync(frame.AsMemory(TurnStreamFraming.HeaderLength, frameLength - TurnStreamFraming.HeaderLength), CancellationToken.None).ConfigureAwait(false);
                    if (!_frames.Writer.TryWrite((frame, datagramLength)))
                    {
                        await _frames.Writer.WriteAsync((frame, datagramLength), stop).ConfigureAwait(false);
                    }
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(frame); // not queued: nobody else will give it back
                    throw;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or EndOfStreamException)
        {
            Close("the connection failed: " + e.Message);
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    private void Close(string why) => Interlocked.CompareExchange(ref _closedBecause, why, null);
}
