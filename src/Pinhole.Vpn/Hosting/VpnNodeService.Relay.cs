using Pinhole.Node;

namespace Pinhole.Vpn.Hosting;

// The relay path's node side: one /pinhole/vpn-relay/1.0.0 stream per peer over the node connection to it. Of two
// peers, the one with the lower PeerId (ordinal) opens it, so there is one stream per pair; the other accepts it.
// A stream that ends is opened again after a back-off (5 s doubling to 60 s, on the interface's TimeProvider).
public sealed partial class VpnNodeService
{
    /// <summary>The node protocol carrying VPN datagrams when UDP does not work (docs/vpn.md, "Relay path").</summary>
    public const string RelayProtocol = "/pinhole/vpn-relay/1.0.0";

    private static readonly TimeSpan RelayRetryMin = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RelayRetryMax = TimeSpan.FromSeconds(60);
    private Task _relayDialer = Task.CompletedTask;

    /// <summary>The node's handler for <see cref="RelayProtocol"/>: a VPN peer's stream becomes its relay path.</summary>
    public async Task HandleRelayAsync(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(stream);
        VpnInterface? vpn = Interface;
        Task<string> closed;
        try
        {
            closed = vpn is null ? throw new ArgumentException("the VPN is not running") : vpn.AttachRelay(connection.RemotePeer, stream);
        }
        catch (Exception e) when (e is ArgumentException or ObjectDisposedException)
        {
            // Not one of our peers (or stopping): refuse by closing.
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }
        try
        {
            await closed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The node is stopping; the interface closes the stream when it stops.
        }
    }

    private void StartRelayDialer(PinholeNode node, VpnInterface vpn) =>
        _relayDialer = Task.Run(() => RelayDialLoopAsync(node, vpn, _stopping.Token), CancellationToken.None);

    private async Task RelayDialLoopAsync(PinholeNode node, VpnInterface vpn, CancellationToken stopping)
    {
        TimeProvider time = _options.Interface.TimeProvider;
        var retry = new Dictionary<PeerId, (long At, TimeSpan Delay)>();
        string self = node.LocalPeer.ToString();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                foreach (VpnPeerStatus peer in vpn.GetStatus().Peers)
                {
                    if (peer.HasRelay || string.CompareOrdinal(self, peer.PeerId.ToString()) > 0
                        || (retry.TryGetValue(peer.PeerId, out var r) && time.GetTimestamp() < r.At))
                    {
                        continue;
                    }
                    TimeSpan delay = retry.TryGetValue(peer.PeerId, out var last) ? TimeSpan.FromTicks(Math.Min(last.Delay.Ticks * 2, RelayRetryMax.Ticks)) : RelayRetryMin;
                    retry[peer.PeerId] = (time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency), delay);
                    try
                    {
                        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);
                        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
                        PeerStream stream = await node.Connections.OpenStreamAsync(peer.PeerId, RelayProtocol, attempt.Token).ConfigureAwait(false);
                        _ = vpn.AttachRelay(peer.PeerId, stream);
                        retry[peer.PeerId] = (time.GetTimestamp() + (long)(RelayRetryMin.TotalSeconds * time.TimestampFrequency), RelayRetryMin / 2);
                    }
                    catch (Exception e) when (e is PeerException or IOException or OperationCanceledException or ArgumentException && !stopping.IsCancellationRequested)
                    {
                        VpnLog.RelayDialFailed(_logger, peer.PeerId.ToString(), e.Message);
                    }
                }
                await Task.Delay(TimeSpan.FromSeconds(1), time, stopping).ConfigureAwait(false);
            }
        }
        catch (Exception e) when ((e is OperationCanceledException or ObjectDisposedException) && stopping.IsCancellationRequested)
        {
        }
    }
}
