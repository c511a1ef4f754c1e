using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Pinhole.Connections;
using Pinhole.Dtls.Internal;
using Pinhole.Dtls.Native;

namespace Pinhole.Dtls;

/// <summary>
/// One DTLS 1.2 session with a peer whose PeerId has been verified from its libp2p certificate. Packets are
/// datagrams: each <see cref="SendAsync"/> is one record in one datagram, delivered at most once (OpenSSL's
/// replay window drops duplicates), possibly out of order or not at all.
/// </summary>
public sealed partial class DtlsConnection : IAsyncDisposable
{
    private readonly DtlsEndpoint _endpoint;
    private readonly Session _session;
    private readonly Channel<PooledPacket> _inbox;
    private readonly TaskCompletionSource _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DtlsPacketHandler? _handler;
    private HandshakeAdmission.Ticket? _halfOpen;

    private DtlsConnection(DtlsEndpoint endpoint, NativeDtlsSession native, EndPoint remote, PeerId? target)
    {
        _endpoint = endpoint;
        RemoteEndPoint = remote;
        _inbox = Channel.CreateBounded<PooledPacket>(new BoundedChannelOptions(endpoint.Options.ReceiveQueueCapacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _session = new Session(this, native, target);
    }

    internal static DtlsConnection CreateClient(DtlsEndpoint endpoint, NativeDtlsSession native, EndPoint remote, PeerId target)
        => new(endpoint, native, remote, target);

    internal static DtlsConnection CreateServer(DtlsEndpoint endpoint, NativeDtlsSession native, EndPoint remote, byte[] clientHelloRandom)
        => new(endpoint, native, remote, null) { ClientHelloRandom = clientHelloRandom };

    /// <summary>The random of the ClientHello that opened this (server-side) session; empty for client sessions.</summary>
    internal byte[] ClientHelloRandom { get; private init; } = [];

    /// <summary>The peer's address as the bind reports it.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>True for the side that called <see cref="DtlsEndpoint.ConnectAsync"/>.</summary>
    public bool IsClient => _session.Target is not null;

    /// <summary>The peer's verified identity (set once the handshake completes).</summary>
    public PeerId RemotePeer => _session.RemotePeer ?? throw new InvalidOperationException("The handshake has not completed.");

    /// <summary>The certificate the peer presented (its libp2p extension was verified).</summary>
    public X509Certificate2 RemoteCertificate => _session.RemoteCertificate ?? throw new InvalidOperationException("The handshake has not completed.");

    /// <summary>The negotiated cipher suite, e.g. ECDHE-ECDSA-AES128-GCM-SHA256.</summary>
    public string? CipherSuite { get; private set; }

    /// <summary>
    /// Largest packet <see cref="SendAsync"/> accepts: <see cref="DtlsEndpointOptions.MaxDatagramSize"/>
    /// minus the record overhead of the negotiated cipher.
    /// </summary>
    public int MaxPacketSize => _session.MaxPacketSize;

    /// <summary>Packets dropped because the receive queue was full.</summary>
    public long DroppedPackets => Interlocked.Read(ref _dropped);

    private long _dropped;

    /// <summary>
    /// Encrypts <paramref name="packet"/> into one record and sends it as one datagram. Throws
    /// <see cref="PeerException"/> with <see cref="PeerError.LimitExceeded"/> if it exceeds
    /// <see cref="MaxPacketSize"/> (never truncates), or the reason the connection closed.
    /// </summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        if (packet.IsEmpty)
        {
            throw new ArgumentException("A DTLS packet must hold at least one byte.", nameof(packet));
        }
        byte[] datagram = _session.Encrypt(packet.Span, out int length);
        ValueTask send;
        try
        {
            send = _endpoint.Bind.SendPacketAsync(RemoteEndPoint, datagram.AsMemory(0, length), cancellationToken);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(datagram);
            throw;
        }
        if (send.IsCompletedSuccessfully)
        {
            ArrayPool<byte>.Shared.Return(datagram);
            return ValueTask.CompletedTask;
        }
        return AwaitSend(send, datagram);

        static async ValueTask AwaitSend(ValueTask pending, byte[] rented)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Waits for the next packet and copies it into <paramref name="buffer"/>; returns its length. A buffer of
    /// 16,384 bytes (the largest DTLS record) always suffices, and <see cref="MaxPacketSize"/> bytes do when the
    /// peer uses the same <see cref="DtlsEndpointOptions.MaxDatagramSize"/>; a packet that does not fit is discarded and
    /// <see cref="ArgumentException"/> thrown. When the connection closes, throws <see cref="PeerException"/>
    /// saying why (<see cref="PeerError.ConnectionClosed"/>, <see cref="PeerError.IdleTimeout"/>, ...).
    /// </summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Fast path: a packet is waiting, so no state machine at all.
        if (_inbox.Reader.TryRead(out PooledPacket ready))
        {
            return ValueTask.FromResult(CopyOut(ready, buffer));
        }
        return ReceiveSlowAsync(buffer, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        PooledPacket packet = await ReadAsync(cancellationToken).ConfigureAwait(false);
        return CopyOut(packet, buffer);
    }

    private static int CopyOut(PooledPacket packet, Memory<byte> buffer)
    {
        try
        {
            if (packet.Length > buffer.Length)
            {
                throw new ArgumentException($"A {packet.Length}-byte packet does not fit the {buffer.Length}-byte buffer; it was discarded.", nameof(buffer));
            }
            packet.Array.AsSpan(0, packet.Length).CopyTo(buffer.Span);
            return packet.Length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(packet.Array);
        }
    }

    /// <summary>Waits for the next packet and returns it in a new array (convenient, allocates).</summary>
    public async ValueTask<byte[]> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        PooledPacket packet = await ReadAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return packet.Array.AsSpan(0, packet.Length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(packet.Array);
        }
    }

    /// <summary>
    /// Delivers every later packet to <paramref name="handler"/> on the receive loop instead of the receive
    /// queue (packets already queued stay for <see cref="ReceiveAsync(CancellationToken)"/>). Null restores queueing.
    /// </summary>
    public void SetPacketHandler(DtlsPacketHandler? handler) => Volatile.Write(ref _handler, handler);

    /// <summary>Completes (successfully) when the connection has closed; <see cref="CloseReason"/> says why.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Why the connection closed, or null while it is open.</summary>
    public PeerException? CloseReason { get; private set; }

    /// <summary>Sends close_notify and releases the session. Idempotent.</summary>
    public async ValueTask CloseAsync()
    {
        List<byte[]>? output = _session.Close(new PeerException(PeerError.ConnectionClosed, $"The DTLS connection to {RemoteEndPoint} was closed locally."), notify: true);
        await _endpoint.SendAllAsync(RemoteEndPoint, output).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => CloseAsync();

    /// <inheritdoc />
    public override string ToString() => $"DTLS {(IsClient ? "to" : "from")} {_session.RemotePeer?.ToString() ?? "?"} at {RemoteEndPoint}";

    internal Task HandshakeTask => _handshake.Task;

    internal Session Core => _session;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PooledPacket> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _inbox.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e) when (e.InnerException is PeerException closed)
        {
            throw new PeerException(closed.Error, closed.Message, closed);
        }
    }

    // Called by Session outside its lock.
    private void Deliver(byte[] rented, int length)
    {
        DtlsPacketHandler? handler = Volatile.Read(ref _handler);
        if (handler is not null)
        {
            try
            {
                handler(this, rented.AsSpan(0, length));
            }
            catch (Exception e)
            {
                DtlsLog.HandlerFailed(_endpoint.Logger, RemoteEndPoint, e);
            }
            ArrayPool<byte>.Shared.Return(rented);
            return;
        }
        if (!_inbox.Writer.TryWrite(new PooledPacket(rented, length)))
        {
            Interlocked.Increment(ref _dropped);
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A server session holds a slot of the endpoint's half-open budget until its handshake completes; eviction closes it.</summary>
    internal void HoldHalfOpen(HandshakeAdmission.Ticket? ticket)
    {
        if (ticket is null)
        {
            return;
        }
        _halfOpen = ticket;
        ticket.Evicted.UnsafeRegister(static state => ((DtlsConnection)state!).OnEvicted(), this);
    }

    /// <summary>A datagram arrived for this session (receive loop): a half-open one made progress.</summary>
    internal void OnHandshakeProgress() => Volatile.Read(ref _halfOpen)?.Touch();

    private void OnEvicted()
    {
        AdmissionMetrics.CountHandshakeFailed("udp", "evicted");
        _ = _session.Close(new PeerException(PeerError.Refused,
            $"The half-open DTLS session with {RemoteEndPoint} was evicted: the handshake budget was full and the peer had gone quiet."), notify: false);
    }

    private void ReleaseHalfOpen() => Interlocked.Exchange(ref _halfOpen, null)?.Dispose();

    private void OnEstablished(string? cipher)
    {
        ReleaseHalfOpen();
        AdmissionMetrics.CountAccepted("udp");
        CipherSuite = cipher;
        DtlsLog.Established(_endpoint.Logger, _session.RemotePeer!, RemoteEndPoint, cipher);
        _endpoint.OnEstablished(this);
        _handshake.TrySetResult();
    }

    private void OnClosed(PeerException reason)
    {
        if (Interlocked.Exchange(ref _halfOpen, null) is { } halfOpen)
        {
            if (!halfOpen.WasEvicted)
            {
                AdmissionMetrics.CountHandshakeFailed("udp", reason.Error == PeerError.Timeout ? "timeout" : "tls");
            }
            halfOpen.Dispose();
        }
        CloseReason = reason;
        _endpoint.Remove(this);
        DtlsLog.Closed(_endpoint.Logger, RemoteEndPoint, reason.Message);
        _handshake.TrySetException(reason);
        _ = _handshake.Task.Exception; // observed: a failed handshake nobody awaits must not crash finalizers
        _inbox.Writer.TryComplete(reason);
        _closed.TrySetResult();
    }

    private readonly record struct PooledPacket(byte[] Array, int Length);
}
