using System.Buffers.Binary;
using System.Net.Sockets;
using System.Threading.Channels;
using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn.Tests;

public partial class RelayPathTests
{
    [Fact]
    public async Task AFrameReadFromAReplacedRelayStream_IsDeliveredButMovesNoPath()
    {
        // A full-run flake of ANewRelayStreamCarriesARelayedPath: a frame the old link's reader had queued just before
        // the stream was replaced was handled after it; roaming followed it to the old link's address, every record of
        // A's went to a link that was gone, and the dead-peer handshake went there too. Here the frame is held and
        // handed over after the replacement, so the order is certain.
        var network = new MemoryTransportNetwork { Filter = (_, _, _) => false }; // no UDP at all
        await using var pair = await VpnPair.StartAsync(timings: Quick, network: network,
            configure: (a, _) => a.Peers[0].Endpoint = null);
        var (a1, tapA) = await StreamPairAsync();
        var (b1, tapB) = await StreamPairAsync();
        await using var tap = new HoldingTap(tapA, tapB);
        _ = pair.VpnA.AttachRelay(pair.IdentityB.PeerId, a1);
        _ = pair.VpnB.AttachRelay(pair.IdentityA.PeerId, b1);
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunA, pair.TunB), A, B, () => true, "A reaches B over the first stream");
        UdpAddress old = pair.VpnA.PathOf(pair.IdentityB.PeerId).Relay!;

        tap.Holding = true;
        pair.TunB.Inject(Numbered(B, A, 7));
        byte[] stale = await tap.NextHeldDataAsync().WaitAsync(VpnPair.Patience);
        await AttachAsync(pair); // both sides replace their stream
        UdpAddress current = pair.VpnA.PathOf(pair.IdentityB.PeerId).Relay!;
        Assert.NotEqual(old, current);

        pair.VpnA.Transport.OnFrame(old, stale); // as the old link's reader queued it
        await DeliveredAsync(pair.TunA, 7);
        Assert.Equal((current, current), pair.VpnA.PathOf(pair.IdentityB.PeerId));
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunA, pair.TunB), A, B, () => true, "A reaches B over the new stream");
        Assert.Equal("relayed", PeerOf(pair.VpnA).Path);
    }

    [Fact]
    public async Task AStreamAlreadyClosed_EndsTheLinkAtOnce_AndLeavesNoRelay()
    {
        // Its reader sees the end before anything else runs: the close must find the link's address where the
        // interface keeps it (the attach registers it before the link reads), or the peer keeps a dead relay forever.
        await using var pair = await VpnPair.StartAsync(timings: Quick);
        var (mine, theirs) = await StreamPairAsync();
        theirs.Dispose();
        string reason = await pair.VpnA.AttachRelay(pair.IdentityB.PeerId, mine).WaitAsync(VpnPair.Patience);
        Assert.Equal("the stream ended", reason);
        Assert.False(PeerOf(pair.VpnA).HasRelay);
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunA, pair.TunB), A, B, () => true, "A→B over UDP");
    }

    [Fact]
    public void AClosingRelayClearsOnlyItself()
    {
        // The old stream's close can run after a new stream was attached: it must not take the new one away.
        using var identity = NodeIdentity.Generate();
        var peer = new Peer(identity.PeerId, "b", [], null, TimeSpan.Zero);
        UdpAddress first = UdpAddress.Create(System.Net.IPEndPoint.Parse("[100::1]:1"));
        UdpAddress second = UdpAddress.Create(System.Net.IPEndPoint.Parse("[100::2]:1"));
        Assert.Null(peer.ExchangeRelay(first));
        Assert.Same(first, peer.ExchangeRelay(second));
        Assert.False(peer.TryClearRelay(first));
        Assert.Same(second, peer.Relay);
        Assert.True(peer.TryClearRelay(second));
        Assert.Null(peer.Relay);
    }

    private static async Task DeliveredAsync(Tun.MemoryTun tun, int number)
    {
        using var timeout = new CancellationTokenSource(VpnPair.Patience);
        while (BinaryPrimitives.ReadInt32BigEndian((await tun.Delivered.ReadAsync(timeout.Token)).AsSpan(28)) != number)
        {
        }
    }

    /// <summary>
    /// Sits between A's and B's relay streams: copies A→B as it comes, and B→A frame by frame; while <see cref="Holding"/>,
    /// B's frames are kept (not forwarded) and the data records among them are handed to the test.
    /// </summary>
    private sealed class HoldingTap : IAsyncDisposable
    {
        private readonly NetworkStream _toA;
        private readonly NetworkStream _fromB;
        private readonly CancellationTokenSource _stop = new();
        private readonly Channel<byte[]> _held = Channel.CreateUnbounded<byte[]>();
        private readonly Task _aToB;
        private readonly Task _bToA;

        internal HoldingTap(NetworkStream a, NetworkStream b)
        {
            _toA = a;
            _fromB = b;
            _aToB = a.CopyToAsync(b, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            _bToA = Task.Run(ForwardFramesAsync);
        }

        internal volatile bool Holding;

        internal async Task<byte[]> NextHeldDataAsync()
        {
            while (true)
            {
                byte[] datagram = await _held.Reader.ReadAsync();
                if (datagram[0] == WireFormat.Data && datagram.Length >= 64) // a record with a packet, not a keepalive
                {
                    return datagram;
                }
            }
        }

        private async Task ForwardFramesAsync()
        {
            byte[] buffer = new byte[2 * (RelayFrame.HeaderLength + RelayFrame.MaxDatagram)];
            int filled = 0;
            try
            {
                while (true)
                {
                    int read = await _fromB.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }
                    filled += read;
                    int start = 0;
                    while (RelayFrame.TryRead(buffer.AsSpan(start, filled - start), out int length, out _) == RelayFrame.Status.Frame)
                    {
                        int size = RelayFrame.HeaderLength + length;
                        if (Holding)
                        {
                            _held.Writer.TryWrite(buffer.AsSpan(start + RelayFrame.HeaderLength, length).ToArray());
                        }
                        else
                        {
                            await _toA.WriteAsync(buffer.AsMemory(start, size), _stop.Token);
                        }
                        start += size;
                    }
                    buffer.AsSpan(start, filled - start).CopyTo(buffer);
                    filled -= start;
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
            {
                // The tap ends with the test, or the interface closed its side.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _toA.Dispose();
            _fromB.Dispose();
            await Task.WhenAll(_aToB, _bToA);
            _stop.Dispose();
        }
    }
}
