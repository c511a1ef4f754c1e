using System.Net;

namespace Pinhole.Dtls.Tests;

/// <summary>
/// A client whose retransmission timer fires as the HelloVerifyRequest arrives sends its old ClientHello and the
/// one echoing the cookie in one datagram. The listener must hear both records, not answer the first and drop the
/// second (the handshake then waited a whole retransmission timeout; seen about once in 300 handshakes on a busy
/// machine). On a frozen clock nothing is retransmitted, so the handshake completes only if the packed datagram is
/// understood.
/// </summary>
public class PackedClientHelloTests
{
    /// <summary>Sends the first ClientHello again in front of every later one, in the same datagram.</summary>
    private sealed class PackingBind(IDatagramBind inner) : IDatagramBind
    {
        private byte[]? _firstHello;

        public int Packed { get; private set; }

        public EndPoint LocalEndPoint => inner.LocalEndPoint;

        public ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
        {
            bool hello = packet.Length > 13 && packet.Span[0] == 22 && packet.Span[13] == 1;
            if (hello && _firstHello is null)
            {
                _firstHello = packet.ToArray();
            }
            else if (hello && _firstHello is { } first)
            {
                Packed++;
                return inner.SendPacketAsync(remote, (byte[])[.. first, .. packet.Span], cancellationToken);
            }
            return inner.SendPacketAsync(remote, packet, cancellationToken);
        }

        public ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => inner.ReceivePacketAsync(buffer, cancellationToken);

        public ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default)
            => inner.ObtainPublicKeyAsync(remote, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    [Fact]
    public async Task AClientHelloPackedBehindTheOldOne_OpensTheSessionWithoutARetransmission()
    {
        var time = Clocks.StartingNow();
        var network = new MemoryDatagramNetwork();
        var client = new PackingBind(network.CreateBind(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 5000)));
        await using Pair pair = Pair.Create(network.CreateBind(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4000)), client, o => o.TimeProvider = time);

        (DtlsConnection dialed, DtlsConnection accepted) = await pair.ConnectAsync();

        Assert.Equal(1, client.Packed);
        Assert.Equal(pair.ServerIdentity.PeerId, dialed.RemotePeer);
        await dialed.SendAsync(new byte[] { 1, 2, 3 });
        using var cts = new CancellationTokenSource(Pair.Patience);
        Assert.Equal(new byte[] { 1, 2, 3 }, await accepted.ReceiveAsync(cts.Token));
    }
}
