using System.Threading.Channels;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.Tun;

/// <summary>
/// An in-memory TUN for tests (wireguard-go's tuntest.ChannelTUN): <see cref="Inject"/> plays the operating
/// system sending a packet into the tunnel; what the data plane delivers appears in <see cref="Delivered"/>.
/// </summary>
internal sealed class MemoryTun : ITunDevice
{
    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<byte[]> _delivered = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly CancellationTokenSource _closed = new();
    private int _disposed;

    internal MemoryTun(string name = "mem0", int mtu = 1420)
    {
        Name = name;
        Mtu = mtu;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Mtu { get; }

    /// <inheritdoc />
    public VpnOffloads Offloads => VpnOffloads.None;

    /// <summary>Packets the data plane wrote (delivered to the "operating system").</summary>
    internal ChannelReader<byte[]> Delivered => _delivered.Reader;

    /// <summary>Queues a packet for the data plane to read, as if a local application had sent it.</summary>
    internal void Inject(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > Mtu)
        {
            throw new ArgumentException($"A {packet.Length}-byte packet exceeds the {Mtu}-byte MTU.", nameof(packet));
        }
        _outbound.Writer.TryWrite(packet.ToArray());
    }

    /// <summary>Waits for the next delivered packet (bounded by <paramref name="timeout"/>, a hang guard).</summary>
    internal async Task<byte[]> NextDeliveredAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await _delivered.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public int Read(Span<PacketRef> packets)
    {
        if (packets.IsEmpty)
        {
            return 0;
        }
        ChannelReader<byte[]> reader = _outbound.Reader;
        byte[]? packet;
        while (!reader.TryRead(out packet))
        {
            try
            {
                if (!reader.WaitToReadAsync(_closed.Token).AsTask().GetAwaiter().GetResult())
                {
                    return 0;
                }
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
        }
        int count = 0;
        do
        {
            ref PacketRef target = ref packets[count];
            packet.CopyTo(target.Buffer.AsSpan(target.Offset));
            target.Length = packet.Length;
            count++;
        }
        while (count < packets.Length && reader.TryRead(out packet));
        return count;
    }

    /// <inheritdoc />
    public int Write(ReadOnlySpan<PacketRef> packets)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return packets.Length;
        }
        foreach (ref readonly PacketRef packet in packets)
        {
            _delivered.Writer.TryWrite(packet.Span.ToArray());
        }
        return 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _closed.Cancel();
        _outbound.Writer.TryComplete();
        _delivered.Writer.TryComplete();
        // The token source is not disposed: a reader may still be looking at its token.
    }
}
