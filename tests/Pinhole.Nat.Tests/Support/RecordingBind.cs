using System.Net;
using Pinhole.Dtls;

namespace Pinhole.Nat.Tests.Support;

/// <summary>A UDP bind that keeps a copy of every datagram it receives, to read what a relay forwarded.</summary>
internal sealed class RecordingBind(IDatagramBind inner) : IDatagramBind
{
    private readonly List<(EndPoint Source, byte[] Data)> _received = [];

    public static RecordingBind Udp(IPEndPoint local) => new(UdpDatagramBind.Bind(local));

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public IReadOnlyList<(EndPoint Source, byte[] Data)> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    public ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default) =>
        inner.SendPacketAsync(remote, packet, cancellationToken);

    public async ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        DatagramReceiveResult r = await inner.ReceivePacketAsync(buffer, cancellationToken);
        lock (_received)
        {
            _received.Add((r.RemoteEndPoint, buffer[..r.Length].ToArray()));
        }
        return r;
    }

    public ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default) =>
        inner.ObtainPublicKeyAsync(remote, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
