using System.Net;
using System.Threading.Channels;

namespace Pinhole.Dtls;

/// <summary>A bind on a <see cref="MemoryDatagramNetwork"/>; created by <see cref="MemoryDatagramNetwork.CreateBind"/>.</summary>
public sealed class MemoryDatagramBind : IDatagramBind
{
    private readonly MemoryDatagramNetwork _network;
    private readonly Channel<(EndPoint From, byte[] Data)> _inbox;

    internal MemoryDatagramBind(MemoryDatagramNetwork network, EndPoint address, int capacity)
    {
        _network = network;
        LocalEndPoint = address;
        _inbox = Channel.CreateBounded<(EndPoint, byte[])>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <inheritdoc />
    public EndPoint LocalEndPoint { get; }

    /// <inheritdoc />
    public ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        cancellationToken.ThrowIfCancellationRequested();
        _network.Send(LocalEndPoint, remote, packet.Span);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        (EndPoint from, byte[] data) = await _inbox.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        int length = Math.Min(data.Length, buffer.Length);
        data.AsSpan(0, length).CopyTo(buffer.Span);
        return new DatagramReceiveResult(from, length);
    }

    /// <inheritdoc />
    public ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(_network.KeyOf(remote));

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _inbox.Writer.TryComplete(new ObjectDisposedException(nameof(MemoryDatagramBind)));
        _network.Remove(this);
        return ValueTask.CompletedTask;
    }

    internal bool Enqueue(EndPoint from, byte[] data) => _inbox.Writer.TryWrite((from, data));
}
