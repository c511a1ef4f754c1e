using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// The data plane's transport with relay paths beside UDP. Each peer reachable over a node stream
/// (<c>/pinhole/vpn-relay/1.0.0</c>) gets a synthetic address in RFC 6666's discard-only prefix 100::/64, which no
/// real UDP datagram carries as its source; sending to it queues a <see cref="RelayFrame"/> on that peer's stream,
/// and frames read from the stream are received with it as their source. Everything above (DTLS handshakes,
/// records, replay, roaming) sees one more endpoint of the peer.
/// </summary>
internal sealed class RelayTransport : IPacketTransport
{
    private static readonly UInt128 Prefix = (UInt128)0x0100_0000_0000_0000UL << 64;
    private const ushort RelayPort = 1;

    private readonly IPacketTransport _inner;
    private readonly ConcurrentDictionary<UdpAddress, RelayLink> _links = new();
    private readonly ConcurrentQueue<(UdpAddress Source, byte[] Datagram)> _received = new();
    private long _nextIndex;
    private int _disposed;

    internal RelayTransport(IPacketTransport inner) => _inner = inner;

    /// <summary>Called when a link ends (stream closed, write failed or a hostile frame), with its address.</summary>
    internal event Action<UdpAddress, string>? LinkClosed;

    /// <summary>Frames dropped because a link's send queue was full.</summary>
    internal long DroppedQueueFull;

    /// <summary>Datagrams received over relays.</summary>
    internal long RelayReceived;

    /// <summary>Datagrams queued to relays.</summary>
    internal long RelaySent;

    /// <inheritdoc />
    public IPEndPoint LocalEndPoint => _inner.LocalEndPoint;

    /// <inheritdoc />
    public VpnOffloads Offloads => _inner.Offloads;

    /// <inheritdoc />
    public int MaxReceiveBatch => _inner.MaxReceiveBatch;

    /// <summary>True for an address of a relay path (never a real UDP source).</summary>
    internal static bool IsRelay(UdpAddress address) => (address.Address >> 64) == (Prefix >> 64);

    /// <summary>
    /// Starts a relay link over <paramref name="stream"/>; the returned address is the path's endpoint.
    /// <paramref name="registered"/> runs with the address before the link reads: a stream already dead closes the
    /// link at once, and that close must find the address wherever the caller keeps it.
    /// </summary>
    internal UdpAddress Attach(Stream stream, int queueCapacity, Action<UdpAddress>? registered = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var address = UdpAddress.Create(Prefix | (UInt128)(ulong)Interlocked.Increment(ref _nextIndex), RelayPort);
        var link = new RelayLink(this, address, stream, queueCapacity);
        _links[address] = link;
        registered?.Invoke(address);
        link.Start();
        return address;
    }

    /// <summary>Ends the link at <paramref name="address"/> (its stream is disposed).</summary>
    internal Task DetachAsync(UdpAddress address, string reason) =>
        _links.TryGetValue(address, out RelayLink? link) ? link.CloseAsync(reason) : Task.CompletedTask;

    internal void OnFrame(UdpAddress source, byte[] datagram)
    {
        Interlocked.Increment(ref RelayReceived);
        _received.Enqueue((source, datagram));
        _inner.Wake();
    }

    internal void OnClosed(RelayLink link, string reason)
    {
        if (_links.TryRemove(new KeyValuePair<UdpAddress, RelayLink>(link.Address, link)))
        {
            LinkClosed?.Invoke(link.Address, reason);
        }
    }

    /// <inheritdoc />
    public int Receive(Span<ReceivedDatagram> datagrams)
    {
        int count = DrainRelayed(datagrams);
        if (count > 0)
        {
            return count;
        }
        int n = _inner.Receive(datagrams);
        // Woken (0): relayed datagrams are what woke us, or a caller's Wake; either way hand over what is queued.
        return n == 0 ? DrainRelayed(datagrams) : n;
    }

    private int DrainRelayed(Span<ReceivedDatagram> datagrams)
    {
        int count = 0;
        while (count < datagrams.Length && _received.TryDequeue(out (UdpAddress Source, byte[] Datagram) item))
        {
            datagrams[count++] = new ReceivedDatagram { Packet = new PacketRef(item.Datagram, 0, item.Datagram.Length), Source = item.Source };
        }
        return count;
    }

    /// <inheritdoc />
    public void Wake() => _inner.Wake();

    /// <inheritdoc />
    public int Send(UdpAddress destination, ReadOnlySpan<PacketRef> datagrams)
    {
        if (!IsRelay(destination))
        {
            return _inner.Send(destination, datagrams);
        }
        int failed = 0;
        foreach (ref readonly PacketRef d in datagrams)
        {
            if (!SendOne(destination, d.Span))
            {
                failed++;
            }
        }
        return failed;
    }

    /// <inheritdoc />
    public bool SendOne(UdpAddress destination, ReadOnlySpan<byte> datagram)
    {
        if (!IsRelay(destination))
        {
            return _inner.SendOne(destination, datagram);
        }
        if (!_links.TryGetValue(destination, out RelayLink? link) || !link.TryQueue(datagram))
        {
            return false;
        }
        Interlocked.Increment(ref RelaySent);
        return true;
    }

    /// <inheritdoc />
    public UdpAddress Resolve(IPEndPoint endPoint) => _inner.Resolve(endPoint);

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        foreach (RelayLink link in _links.Values)
        {
            _ = link.CloseAsync("the interface stopped");
        }
        _inner.Dispose();
    }
}

/// <summary>One relay stream: a bounded send queue (full: drop, the data path never blocks) and a frame reader.</summary>
internal sealed class RelayLink : IDisposable
{
    private readonly RelayTransport _owner;
    private readonly Stream _stream;
    private readonly Channel<byte[]> _queue;
    private readonly CancellationTokenSource _closed = new();
    private Task _writer = Task.CompletedTask;
    private Task _reader = Task.CompletedTask;
    private int _closing;

    internal RelayLink(RelayTransport owner, UdpAddress address, Stream stream, int capacity)
    {
        _owner = owner;
        Address = address;
        _stream = stream;
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    internal UdpAddress Address { get; }

    internal void Start()
    {
        _writer = Task.Run(WriteLoopAsync);
        _reader = Task.Run(ReadLoopAsync);
    }

    internal bool TryQueue(ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty || datagram.Length > RelayFrame.MaxDatagram)
        {
            return false;
        }
        byte[] frame = GC.AllocateUninitializedArray<byte>(RelayFrame.HeaderLength + datagram.Length);
        RelayFrame.Write(frame, datagram);
        if (_queue.Writer.TryWrite(frame))
        {
            return true;
        }
        Interlocked.Increment(ref _owner.DroppedQueueFull);
        return false;
    }

    private async Task WriteLoopAsync()
    {
        string reason = "the stream ended";
        try
        {
            ChannelReader<byte[]> reader = _queue.Reader;
            while (await reader.WaitToReadAsync(_closed.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out byte[]? frame))
                {
                    await _stream.WriteAsync(frame, _closed.Token).ConfigureAwait(false);
                }
                await _stream.FlushAsync(_closed.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_closed.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            if (_closed.IsCancellationRequested)
            {
                return;
            }
            reason = $"write failed: {e.Message}";
        }
        await CloseAsync(reason).ConfigureAwait(false);
    }

    private async Task ReadLoopAsync()
    {
        string reason = "the stream ended";
        byte[] buffer = new byte[2 * (RelayFrame.HeaderLength + RelayFrame.MaxDatagram)];
        int filled = 0;
        try
        {
            while (true)
            {
                int read = await _stream.ReadAsync(buffer.AsMemory(filled), _closed.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                filled += read;
                int start = 0;
                string? error = null;
                while (true)
                {
                    RelayFrame.Status status = RelayFrame.TryRead(buffer.AsSpan(start, filled - start), out int length, out error);
                    if (status != RelayFrame.Status.Frame)
                    {
                        break;
                    }
                    _owner.OnFrame(Address, buffer.AsSpan(start + RelayFrame.HeaderLength, length).ToArray());
                    start += RelayFrame.HeaderLength + length;
                }
                if (error is not null)
                {
                    reason = error;
                    break;
                }
                // Keep the partial frame at the front; the buffer holds two whole frames, so one always fits.
                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                filled -= start;
            }
        }
        catch (OperationCanceledException) when (_closed.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            if (_closed.IsCancellationRequested)
            {
                return;
            }
            reason = $"read failed: {e.Message}";
        }
        await CloseAsync(reason).ConfigureAwait(false);
    }

    internal async Task CloseAsync(string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }
        _queue.Writer.TryComplete();
        await _closed.CancelAsync().ConfigureAwait(false);
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Already broken: the close is what we wanted.
        }
        Dispose();
        _owner.OnClosed(this, reason);
    }

    /// <inheritdoc />
    public void Dispose() => _closed.Dispose();
}
