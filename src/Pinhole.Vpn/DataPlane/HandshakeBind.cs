using System.Buffers;
using System.Net;
using System.Threading.Channels;
using Pinhole.Dtls;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// The datagram bind under one of the data plane's two DTLS endpoints (the dialer's and the listener's):
/// DTLS datagrams leave through the data plane's UDP socket behind a type byte, and the receive loop hands
/// in the ones with the matching type. Bounded: beyond 256 queued datagrams new ones are dropped (a
/// handshake flood must not grow memory or stall the data path).
/// </summary>
internal sealed class HandshakeBind : IDatagramBind
{
    private readonly IPacketTransport _transport;
    private readonly byte _outgoingType;
    private readonly Channel<(EndPoint Source, byte[] Datagram)> _incoming =
        Channel.CreateBounded<(EndPoint, byte[])>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    internal HandshakeBind(IPacketTransport transport, byte outgoingType)
    {
        _transport = transport;
        _outgoingType = outgoingType;
    }

    /// <inheritdoc />
    public EndPoint LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>Called by the receive loop with a datagram of this bind's incoming type (without the type byte).</summary>
    internal void Deliver(UdpAddress source, ReadOnlySpan<byte> datagram) => _incoming.Writer.TryWrite((source.EndPoint, datagram.ToArray()));

    /// <inheritdoc />
    public ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        if (remote is not IPEndPoint ip)
        {
            throw new ArgumentException($"The VPN's handshakes run over UDP addresses, not {remote}.", nameof(remote));
        }
        byte[] datagram = ArrayPool<byte>.Shared.Rent(packet.Length + 1);
        try
        {
            datagram[0] = _outgoingType;
            packet.Span.CopyTo(datagram.AsSpan(1));
            _transport.SendOne(_transport.Resolve(ip), datagram.AsSpan(0, packet.Length + 1));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(datagram);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EndPoint source;
        byte[] datagram;
        try
        {
            (source, datagram) = await _incoming.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException("The VPN's handshake bind is closed.", e);
        }
        int length = Math.Min(datagram.Length, buffer.Length);
        datagram.AsSpan(0, length).CopyTo(buffer.Span);
        return new DatagramReceiveResult(source, length);
    }

    /// <inheritdoc />
    public ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default) => ValueTask.FromResult<Libp2pPublicKey?>(null);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _incoming.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
