using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// An in-process network of <see cref="MemoryTransport"/>s for tests (wireguard-go's bindtest): datagrams
/// are delivered in order, and a <see cref="Filter"/> may drop, observe or rewrite them in flight.
/// </summary>
internal sealed class MemoryTransportNetwork
{
    private readonly ConcurrentDictionary<UdpAddress, MemoryTransport> _nodes = new();

    /// <summary>Called for every datagram; return false to drop it.</summary>
    internal Func<UdpAddress, UdpAddress, byte[], bool>? Filter { get; set; }

    /// <summary>Datagrams delivered.</summary>
    internal long Delivered;

    /// <summary>A transport at <paramref name="address"/>.</summary>
    internal MemoryTransport Create(IPEndPoint address)
    {
        var transport = new MemoryTransport(this, UdpAddress.Create(address));
        if (!_nodes.TryAdd(transport.Address, transport))
        {
            throw new InvalidOperationException($"{address} is taken.");
        }
        return transport;
    }

    /// <summary>Moves a transport to a new address (a roaming laptop: new address and port).</summary>
    internal void Move(MemoryTransport transport, IPEndPoint to)
    {
        _nodes.TryRemove(transport.Address, out _);
        transport.Address = UdpAddress.Create(to);
        _nodes[transport.Address] = transport;
    }

    internal void Remove(MemoryTransport transport) => _nodes.TryRemove(new KeyValuePair<UdpAddress, MemoryTransport>(transport.Address, transport));

    internal bool Send(UdpAddress from, UdpAddress to, ReadOnlySpan<byte> datagram)
    {
        byte[] copy = datagram.ToArray();
        if (Filter is { } filter && !filter(from, to, copy))
        {
            return true;
        }
        if (_nodes.TryGetValue(to, out MemoryTransport? node))
        {
            Interlocked.Increment(ref Delivered);
            node.Enqueue(from, copy);
        }
        return true;
    }
}

/// <summary>One node's datagram transport on a <see cref="MemoryTransportNetwork"/>.</summary>
internal sealed class MemoryTransport : IPacketTransport
{
    private const int Batch = 64;
    private readonly MemoryTransportNetwork _network;
    private readonly Channel<(UdpAddress? Source, byte[]? Datagram)> _inbox = Channel.CreateUnbounded<(UdpAddress?, byte[]?)>();
    private readonly CancellationTokenSource _closed = new();
    private int _disposed;

    internal MemoryTransport(MemoryTransportNetwork network, UdpAddress address)
    {
        _network = network;
        Address = address;
    }

    internal UdpAddress Address { get; set; }

    /// <inheritdoc />
    public IPEndPoint LocalEndPoint => Address.EndPoint;

    /// <inheritdoc />
    public VpnOffloads Offloads => VpnOffloads.None;

    /// <inheritdoc />
    public int MaxReceiveBatch => Batch;

    internal void Enqueue(UdpAddress source, byte[] datagram) => _inbox.Writer.TryWrite((source, datagram));

    /// <inheritdoc />
    public int Receive(Span<ReceivedDatagram> datagrams)
    {
        ChannelReader<(UdpAddress? Source, byte[]? Datagram)> reader = _inbox.Reader;
        (UdpAddress? Source, byte[]? Datagram) item;
        while (!reader.TryRead(out item))
        {
            try
            {
                if (!reader.WaitToReadAsync(_closed.Token).AsTask().GetAwaiter().GetResult())
                {
                    return -1;
                }
            }
            catch (OperationCanceledException)
            {
                return -1;
            }
        }
        int count = 0;
        do
        {
            if (item.Datagram is null)
            {
                if (count == 0)
                {
                    return Volatile.Read(ref _disposed) != 0 ? -1 : 0;
                }
                break;
            }
            datagrams[count++] = new ReceivedDatagram { Packet = new PacketRef(item.Datagram, 0, item.Datagram.Length), Source = item.Source! };
        }
        while (count < datagrams.Length && reader.TryRead(out item));
        return count;
    }

    /// <inheritdoc />
    public void Wake() => _inbox.Writer.TryWrite((null, null));

    /// <inheritdoc />
    public int Send(UdpAddress destination, ReadOnlySpan<PacketRef> datagrams)
    {
        foreach (ref readonly PacketRef d in datagrams)
        {
            _network.Send(Address, destination, d.Span);
        }
        return 0;
    }

    /// <inheritdoc />
    public bool SendOne(UdpAddress destination, ReadOnlySpan<byte> datagram) => _network.Send(Address, destination, datagram);

    /// <inheritdoc />
    public UdpAddress Resolve(IPEndPoint endPoint) => UdpAddress.Create(endPoint);

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _network.Remove(this);
        _closed.Cancel();
        _inbox.Writer.TryComplete();
    }
}
