using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Pinhole.Dtls;

/// <summary>
/// One UDP socket for many DTLS sessions, demultiplexed by remote endpoint. Binding to
/// <see cref="IPAddress.IPv6Any"/> makes a dual-mode socket that serves IPv4 and IPv6; IPv4-mapped source
/// addresses are reported as plain IPv4 so that one peer has one address.
/// </summary>
public sealed class UdpDatagramBind : IDatagramBind
{
    // Bounds on the address caches: a flood of sources can churn them but never grow them.
    private const int MaxCachedAddresses = 4096;
    private const int SocketBufferBytes = 4 * 1024 * 1024;

    private readonly Socket _socket;
    private readonly SocketAddress _receiveAddress;
    private readonly Dictionary<SocketAddress, IPEndPoint> _sources = [];
    private readonly ConcurrentDictionary<EndPoint, SocketAddress> _destinations = new();
    private readonly IPEndPoint _template;
    private readonly bool _dualMode;

    private UdpDatagramBind(Socket socket)
    {
        _socket = socket;
        _dualMode = socket.AddressFamily == AddressFamily.InterNetworkV6 && socket.DualMode;
        _template = socket.AddressFamily == AddressFamily.InterNetworkV6
            ? new IPEndPoint(IPAddress.IPv6Any, 0)
            : new IPEndPoint(IPAddress.Any, 0);
        _receiveAddress = _template.Serialize();
        LocalEndPoint = socket.LocalEndPoint!;
    }

    /// <summary>Binds a UDP socket to <paramref name="localEndPoint"/> (port 0 picks a free port).</summary>
    public static UdpDatagramBind Bind(IPEndPoint localEndPoint)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        var socket = new Socket(localEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (localEndPoint.AddressFamily == AddressFamily.InterNetworkV6 && localEndPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }
            socket.ReceiveBufferSize = SocketBufferBytes;
            socket.SendBufferSize = SocketBufferBytes;
            socket.Bind(localEndPoint);
            return new UdpDatagramBind(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public EndPoint LocalEndPoint { get; }

    /// <inheritdoc />
    public ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        SocketAddress address = Destination(remote);
        ValueTask<int> send = _socket.SendToAsync(packet, SocketFlags.None, address, cancellationToken);
        if (send.IsCompletedSuccessfully)
        {
            _ = send.Result;
            return ValueTask.CompletedTask;
        }
        return AwaitSend(send);

        static async ValueTask AwaitSend(ValueTask<int> pending) => await pending.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            int length;
            try
            {
                length = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, _receiveAddress, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
            {
                // An ICMP error about an earlier send, or an oversized datagram: not fatal for the socket.
                continue;
            }
            return new DatagramReceiveResult(Source(), length);
        }
    }

    /// <inheritdoc />
    /// <remarks>UDP cannot tell: always null, and the DTLS handshake proves the key.</remarks>
    public ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default)
        => ValueTask.FromResult<Libp2pPublicKey?>(null);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    // Reuses one IPEndPoint per source so that the receive path does not allocate per datagram.
    private IPEndPoint Source()
    {
        if (_sources.TryGetValue(_receiveAddress, out IPEndPoint? known))
        {
            return known;
        }
        var endPoint = (IPEndPoint)_template.Create(_receiveAddress);
        if (endPoint.Address.IsIPv4MappedToIPv6)
        {
            endPoint = new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port);
        }
        if (_sources.Count >= MaxCachedAddresses)
        {
            _sources.Clear();
        }
        var key = new SocketAddress(_receiveAddress.Family, _receiveAddress.Size);
        _receiveAddress.Buffer.Span[.._receiveAddress.Size].CopyTo(key.Buffer.Span);
        _sources[key] = endPoint;
        return endPoint;
    }

    private SocketAddress Destination(EndPoint remote)
    {
        if (_destinations.TryGetValue(remote, out SocketAddress? address))
        {
            return address;
        }
        EndPoint target = remote;
        if (_dualMode && remote is IPEndPoint ip && ip.AddressFamily == AddressFamily.InterNetwork)
        {
            target = new IPEndPoint(ip.Address.MapToIPv6(), ip.Port);
        }
        address = target.Serialize();
        if (_destinations.Count >= MaxCachedAddresses)
        {
            _destinations.Clear();
        }
        _destinations[remote] = address;
        return address;
    }
}
